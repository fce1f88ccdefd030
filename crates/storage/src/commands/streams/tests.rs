//! Stream command tests. Expected replies were observed on redis-server 7.0.15.
