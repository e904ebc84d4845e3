/*
 * logsock.h: one log line to the syslog daemon's socket, as syslog(3)
 * would send it but without a timestamp: "<PRIORITY>IDENT[PID]: MSG".
 */
#ifndef SMTP_LOGSOCK_H
#define SMTP_LOGSOCK_H

#include <stddef.h>

/*
 * Send msg[0..len) (cut to about 2 KB) to the Unix socket at path
 * (/dev/log), connecting on first use and once more if the daemon went
 * away; priority is facility | level as in <syslog.h>.  The socket is
 * close-on-exec.  0, or -1 with errno: the line is lost.
 */
int logsock_send(const char *path, int priority, const char *ident,
    unsigned long pid, const char *msg, size_t len);

#endif
