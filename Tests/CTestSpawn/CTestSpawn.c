#define _GNU_SOURCE
#include "CTestSpawn.h"
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

int ctestspawn_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int ctestspawn_spawn(const char *path, char *const argv[], int input_fd, int output_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    posix_spawn_file_actions_adddup2(&actions, input_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    result = posix_spawn(pid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int ctestspawn_spawn_files(
    const char *file, char *const argv[], int input_fd, int output_fd, int error_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    posix_spawn_file_actions_adddup2(&actions, input_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, error_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    result = posix_spawnp(pid, file, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int ctestspawn_spawn_holding(const char *path, char *const argv[], int held_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    posix_spawn_file_actions_adddup2(&actions, held_fd, 3);
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    result = posix_spawn(pid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}
