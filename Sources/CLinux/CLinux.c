#include <sys/vfs.h>
#include <errno.h>
#include "CLinux.h"
#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int clinux_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int clinux_epoll_ctl(int epoll_fd, int operation, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epoll_fd, operation, fd, &event);
}

int clinux_epoll_wait(int epoll_fd, uint32_t *events, uint64_t *data, int capacity, int timeout_ms) {
    struct epoll_event buffer[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epoll_fd, buffer, capacity, timeout_ms);
    for (int index = 0; index < count; index++) {
        events[index] = buffer[index].events;
        data[index] = buffer[index].data.u64;
    }
    return count;
}

int clinux_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int clinux_accept4(int listen_fd, struct sockaddr *address, socklen_t *length) {
    return accept4(listen_fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int clinux_unacknowledged_bytes(int fd) {
    int count = 0;
    if (ioctl(fd, SIOCOUTQ, &count) != 0) return -1;
    return count;
}

int clinux_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

int clinux_set_thread_idle(void) {
    struct sched_param parameter = {0};
    return sched_setscheduler((pid_t)syscall(SYS_gettid), SCHED_IDLE, &parameter);
}

int clinux_thread_is_idle(void) { return sched_getscheduler((pid_t)syscall(SYS_gettid)) == SCHED_IDLE; }

int clinux_thread_nice(void) { return getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)); }

void clinux_set_thread_name(const char *name) { (void)pthread_setname_np(pthread_self(), name); }

int clinux_write_behind(int fd, int64_t offset, int64_t count, int wait) {
    unsigned int flags = SYNC_FILE_RANGE_WRITE;
    if (wait) flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
    return sync_file_range(fd, offset, count, flags);
}

int clinux_readahead(int fd, int64_t offset, int64_t count) {
    return (int)readahead(fd, (off64_t)offset, (size_t)count);
}

int clinux_open_direct_flag(void) {
    return O_DIRECT;
}

int64_t clinux_filesystem_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return (int64_t)info.f_type;
}

int clinux_populate_write(void *address, size_t count) {
#ifdef MADV_POPULATE_WRITE
    return madvise(address, count, MADV_POPULATE_WRITE);
#else
    errno = EINVAL;
    return -1;
#endif
}
