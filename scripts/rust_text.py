"""Small helpers for scripts that read Rust source as text."""


def close_paren(text, open_at):
    """Index of the `)` matching the `(` at `open_at`, skipping string literals."""
    depth, i = 0, open_at
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced parentheses")
