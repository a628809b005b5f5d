//! Returning freed memory to the operating system after one-off bursts (P6).

/// Hands memory that is allocated-then-freed back to the kernel: mimalloc's free pages of
/// this thread and of threads that have exited (the blocking pool's threads exit after
/// 2 s idle, leaving their segments abandoned), and glibc's free heap pages, where SQLite
/// keeps its page caches and statements (C code does not go through Rust's allocator).
/// Called after the demo seed and on each limiter trim (every
/// `limiter_trim_interval_secs`), off the request paths: it walks the heaps, which costs
/// well under a millisecond on an idle node.
pub fn release_freed() {
    // SAFETY: mi_collect takes no pointers; when mimalloc is not the global allocator (the
    // library's tests) it only walks mimalloc's own, empty heap.
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}
