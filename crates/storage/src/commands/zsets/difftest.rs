//! Differential test against redis-server (filled in below).
