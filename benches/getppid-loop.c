/* The cheap-syscall loop of `cella-benches seccomp`: calls getppid(2) N times (argv[1], default
 * 5000000) through syscall(2), so that libc cannot cache or elide it, and prints the mean wall
 * time per call in nanoseconds (CLOCK_MONOTONIC) on stdout, followed by the Seccomp: mode of
 * /proc/self/status (0 none, 2 filter; "?" if unreadable) so the driver can check the filter. Built with `gcc -O2 -static` at
 * bench time into the bundle's rootfs, so it needs nothing from the (busybox) rootfs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000L;
    struct timespec t0, t1;

    if (n <= 0) {
        fprintf(stderr, "getppid-loop: bad count\n");
        return 2;
    }
    for (long i = 0; i < n / 100; i++) /* warm-up: caches, branch predictors, CPU frequency */
        syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    char line[256], mode[16] = "?";
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "Seccomp: %15s", mode) == 1)
            break;
    if (status)
        fclose(status);
    printf("%.2f %s\n", ns / (double)n, mode);
    return 0;
}
