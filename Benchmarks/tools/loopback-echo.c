// The floor under `stream_1mb`: 1 MiB messages echoed over loopback TCP by a server process
// that does nothing but read and write them back, with at most WINDOW messages in flight, as
// river-bench's stream_1mb does (its default --big-window is 8). Prints MB/s (10^6 bytes,
// one direction) and the CPU time (user + system) per MB of each process.
//
//   gcc -O2 -o .build/loopback-echo Benchmarks/tools/loopback-echo.c && .build/loopback-echo 5
//
// What it prints is what the kernel alone costs (loopback TCP both ways, both processes): the
// ceiling any client and server on this machine share, against which River's own cost per
// MB is measured.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE (1 << 20)
#define WINDOW 8

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(int who) {
    struct rusage u;
    getrusage(who, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 5;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, length) || listen(listener, 1)) return 1;
    getsockname(listener, (struct sockaddr *)&address, &length);
    pid_t child = fork();
    if (child == 0) {
        int peer = accept(listener, NULL, NULL);
        char *buffer = malloc(MESSAGE);
        ssize_t got;
        while ((got = read(peer, buffer, MESSAGE)) > 0) {
            for (ssize_t sent = 0; sent < got;) {
                ssize_t n = write(peer, buffer + sent, got - sent);
                if (n <= 0) return 0;
                sent += n;
            }
        }
        return 0;
    }
    int socket_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(socket_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(socket_, (struct sockaddr *)&address, sizeof address)) return 1;
    char *out = malloc(MESSAGE), *in = malloc(MESSAGE);
    memset(out, 'x', MESSAGE);
    long long received = 0, sentMessages = 0;
    double start = now(), cpuStart = cpu(RUSAGE_SELF);
    // Keep WINDOW messages in flight: write one whenever fewer than WINDOW are unanswered.
    while (now() - start < seconds) {
        while (sentMessages - received / MESSAGE < WINDOW) {
            for (ssize_t sent = 0; sent < MESSAGE;) {
                ssize_t n = write(socket_, out + sent, MESSAGE - sent);
                if (n <= 0) return 1;
                sent += n;
            }
            sentMessages++;
        }
        ssize_t got = read(socket_, in, MESSAGE);
        if (got <= 0) return 1;
        received += got;
    }
    double elapsed = now() - start, clientCPU = cpu(RUSAGE_SELF) - cpuStart;
    shutdown(socket_, SHUT_WR);
    while (read(socket_, in, MESSAGE) > 0) {}
    waitpid(child, NULL, 0);
    double serverCPU = cpu(RUSAGE_CHILDREN);
    double mb = received / 1e6;
    printf("loopback_echo_mb_per_s %.1f\nclient_cpu_ms_per_mb %.3f\nserver_cpu_ms_per_mb %.3f\n", mb / elapsed,
           clientCPU * 1000 / mb, serverCPU * 1000 / mb);
    return 0;
}
