// The machine's own pauses, beside a benchmark: a thread that sleeps 1 ms at a time, at real-time priority
// (SCHED_FIFO) where allowed, and notes how late each wake-up was. A FIFO thread preempts every ordinary thread,
// so a late wake-up of tens of milliseconds is the machine (the hypervisor not running the virtual CPU, a long
// non-preemptible kernel path), not the switch's threads competing for the cores.
//
//   pause-probe SECONDS OUT    wake every 1 ms for SECONDS (1..3600); OUT gets one line per wake-up later than
//                              10 ms ("late UNIXTIME.mmm MS") and a last line "max MS fifo 0|1"
//
// Built by benchmarks/fixed-rate.sh with the system's cc (no part of the product).
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pause-probe SECONDS OUT\n");
        return 2;
    }
    char *end = NULL;
    long duration = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || duration < 1 || duration > 3600) {
        fprintf(stderr, "pause-probe: SECONDS must be 1..3600, not '%s'\n", argv[1]);
        return 2;
    }
    FILE *out = fopen(argv[2], "w");
    if (out == NULL) {
        fprintf(stderr, "pause-probe: cannot write %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    struct sched_param priority = {.sched_priority = 10};
    int fifo = sched_setscheduler(0, SCHED_FIFO, &priority) == 0;
    double start = seconds(CLOCK_MONOTONIC), last = start, worst = 0;
    while (last - start < (double)duration) {
        struct timespec step = {0, 1000000};
        nanosleep(&step, NULL);
        double now = seconds(CLOCK_MONOTONIC);
        double late = now - last - 0.001;
        if (late > worst) worst = late;
        if (late > 0.010) {
            fprintf(out, "late %.3f %.1f\n", seconds(CLOCK_REALTIME), late * 1e3);
            fflush(out);
        }
        last = now;
    }
    fprintf(out, "max %.1f fifo %d\n", worst * 1e3, fifo);
    fclose(out);
    return 0;
}
