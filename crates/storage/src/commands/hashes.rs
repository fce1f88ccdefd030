//! Hash commands.

use super::Handler;

/// Name, Redis arity, handler.
pub(super) const COMMANDS: &[(&str, i32, Handler)] = &[];
