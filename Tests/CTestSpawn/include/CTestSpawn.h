#ifndef CTESTSPAWN_H
#define CTESTSPAWN_H
#include <sys/types.h>

/// A pipe whose two ends close on exec (pipe2 with O_CLOEXEC, which Swift's Glibc module does not export).
int ctestspawn_pipe(int fds[2]);

/// posix_spawn of `path` with standard input from `input_fd`, standard output and error to `output_fd`, and every
/// other descriptor closed in the child by posix_spawn_file_actions_addclosefrom_np (no /proc/self/fd listing).
/// Returns 0 and sets *pid, or an errno value.
int ctestspawn_spawn(const char *path, char *const argv[], int input_fd, int output_fd, pid_t *pid);

/// posix_spawnp of `file` (searched in PATH when it has no slash) with standard input, output and error from the
/// three descriptors (the same one may be given twice) and every other descriptor closed. Returns 0 and sets *pid,
/// or an errno value.
int ctestspawn_spawn_files(
    const char *file, char *const argv[], int input_fd, int output_fd, int error_fd, pid_t *pid);

/// posix_spawn of `path` with `held_fd` as its descriptor 3 (the same open file, so the same flock) and every other
/// descriptor above 2 closed: a child that holds a copy of a parent's lock after its exec, as every spawned child
/// does between its fork and its exec. Returns 0 and sets *pid, or an errno value.
int ctestspawn_spawn_holding(const char *path, char *const argv[], int held_fd, pid_t *pid);
#endif
