/* The stop signals as bytes in a self-pipe, so the poll loop sees them as input. */
#include "mcp/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int signal_pipe[2] = {-1, -1};

/* The handler: one byte into the pipe (async-signal-safe; errno kept). A full pipe already
 * holds a pending stop; a closed one drops the signal. */
static void on_signal(int signal_number) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal_number;
    if (signal_pipe[1] >= 0 && write(signal_pipe[1], &byte, 1) < 0) {
        /* The pipe is full: a stop is already pending. */
    }
    errno = saved;
}

bool signals_open(void) {
    if (pipe(signal_pipe) != 0)
        return false;
    fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    action.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &action, NULL);
    return true;
}

int signals_fd(void) {
    return signal_pipe[0];
}

int signals_take(void) {
    unsigned char bytes[16];
    ssize_t got;
    int count = 0;
    while (signal_pipe[0] >= 0 && (got = read(signal_pipe[0], bytes, sizeof bytes)) > 0)
        count += (int)got;
    return count;
}

void signals_close(void) {
    int read_end = signal_pipe[0], write_end = signal_pipe[1];
    signal_pipe[0] = signal_pipe[1] = -1;
    if (read_end >= 0)
        close(read_end);
    if (write_end >= 0)
        close(write_end);
}
