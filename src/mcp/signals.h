/* The stop signals of a transport's loop (stdio or HTTP): SIGTERM and SIGINT each write a
 * byte into a self-pipe whose read end the loop polls; SIGPIPE is ignored, so a closed peer
 * is seen by write. One pipe per process: a process serves one transport. */
#ifndef PGSAFE_MCP_SIGNALS_H
#define PGSAFE_MCP_SIGNALS_H

#include <stdbool.h>

/* Opens the pipe (non-blocking both ends) and installs the handlers. False with errno set
 * when the pipe cannot be made. */
bool signals_open(void);

/* The read end, for poll(); -1 while closed. */
int signals_fd(void);

/* How many signals arrived since the last call (the pipe is emptied). */
int signals_take(void);

/* Closes the pipe; signals arriving afterwards are dropped. */
void signals_close(void);

#endif
