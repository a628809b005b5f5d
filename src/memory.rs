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

/// Pages this binary's own code and read-only data out of the process once start-up is
/// over (`MADV_PAGEOUT`), returning the bytes of mapping advised. Start-up runs code that
/// an idle or serving node never runs again (migrations, the demo seed, password hashing,
/// configuration), and the kernel maps the page cache's neighbours of every page it faults
/// in besides; what requests need afterwards is faulted back in by the first of them. P6
/// measured the difference with the binary in the page cache (as right after a build).
pub fn page_out_code() -> usize {
    #[cfg(target_os = "linux")]
    {
        let Ok(exe) = std::fs::read_link("/proc/self/exe") else { return 0 };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
        let exe = exe.to_string_lossy();
        let mut advised = 0;
        for line in maps.lines() {
            // start-end perms offset dev inode path
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [range, perms, _, _, _, path] = fields[..] else { continue };
            if path != exe || !perms.starts_with('r') || perms.as_bytes().get(1) == Some(&b'w') {
                continue;
            }
            let Some((start, end)) = range.split_once('-') else { continue };
            let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
                continue;
            };
            // SAFETY: the range is a whole mapping of this process's own, read-only file
            // pages; paging them out changes no content (they are read back on access).
            let done = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
            if done == 0 {
                advised += end - start;
            }
        }
        advised
    }
    #[cfg(not(target_os = "linux"))]
    0
}
