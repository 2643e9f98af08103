#pragma once
// Linux calls that `import Glibc` does not expose (epoll, eventfd, accept4) and socket-option helpers.
// Compiled with -D_GNU_SOURCE; thin wrappers only, no logic.
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/types.h>

int clinux_epoll_create(void);
int clinux_epoll_ctl(int epoll_fd, int operation, int fd, uint32_t events, uint64_t data);
/// Waits for events; fills parallel arrays of event bits and data words. Returns the count or -1 (errno).
int clinux_epoll_wait(int epoll_fd, uint32_t *events, uint64_t *data, int capacity, int timeout_ms);
int clinux_eventfd(void);
int clinux_accept4(int listen_fd, struct sockaddr *address, socklen_t *length);
/// Bytes written to a TCP socket that the peer has not acknowledged yet (ioctl SIOCOUTQ), or -1 (errno).
int clinux_unacknowledged_bytes(int fd);
/// Sets the calling thread's nice value (Linux schedules threads, so PRIO_PROCESS with the thread id applies to
/// this thread only). Returns 0 or -1 (errno).
int clinux_set_thread_nice(int nice);
/// Puts the calling thread in the SCHED_IDLE class: it runs only on a core no other thread wants, and a waking
/// thread of the normal class takes that core at once. Returns 0 or -1 (errno).
int clinux_set_thread_idle(void);
/// 1 when the calling thread is in the SCHED_IDLE class.
int clinux_thread_is_idle(void);
/// Names the calling thread (at most 15 bytes are kept), as /proc/PID/task/TID/comm and `top -H` show it.
void clinux_set_thread_name(const char *name);
/// The calling thread's nice value (errno tells an error from -1).
int clinux_thread_nice(void);
/// sync_file_range(2), which Glibc's Swift module does not expose: starts writeback of a byte range (`wait` 0), or
/// also waits for the range's earlier writeback and this one (`wait` 1). Returns 0 or -1 (errno).
int clinux_write_behind(int fd, int64_t offset, int64_t count, int wait);
/// readahead(2), which Glibc's Swift module does not expose: the kernel reads [offset, offset + count) of the file
/// into its page cache without copying it anywhere (at most its readahead window per call). Returns 0 or -1 (errno).
int clinux_readahead(int fd, int64_t offset, int64_t count);
/// The O_DIRECT open flag (Glibc's Swift module leaves it out): writes go to the device, around the page cache.
int clinux_open_direct_flag(void);
/// The file system type (statfs f_type: TMPFS_MAGIC, EXT4_SUPER_MAGIC, ...) of `path`, or -1 (errno).
int64_t clinux_filesystem_type(const char *path);
/// madvise(MADV_POPULATE_WRITE): makes the pages of [address, address + count) resident and writable without
/// changing their bytes (safe while other threads write them). Returns 0, or -1 (errno; EINVAL before Linux 5.14).
int clinux_populate_write(void *address, size_t count);

static const uint32_t CLINUX_EPOLLIN = EPOLLIN;
static const uint32_t CLINUX_EPOLLOUT = EPOLLOUT;
static const uint32_t CLINUX_EPOLLERR = EPOLLERR;
static const uint32_t CLINUX_EPOLLHUP = EPOLLHUP;
static const uint32_t CLINUX_EPOLLRDHUP = EPOLLRDHUP;
static const int CLINUX_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int CLINUX_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int CLINUX_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
