//! Questions asked of a client's socket outside its read loop (a blocked client cannot read).

/// Whether the client closed its side of the connection.
pub fn peer_closed(fd: i32) -> bool {
    let mut byte = 0u8;
    // SAFETY: a one-byte peek into a local buffer on the connection's own socket.
    let read = unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    read == 0
}
