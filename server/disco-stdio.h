/* disco-stdio.h: standard descriptors for the daemon and the tool.
 *
 * A process started with fd 0, 1 or 2 closed (a service manager, a CI runner
 * without standard input) would hand those numbers to its first sockets and
 * files: the ready line would then be written into a socket, and a child
 * spawned with redirected output would get its descriptors crossed.  Call
 * disco_stdio_ensure_open() first thing in main(). */
#pragma once

#include <fcntl.h>
#include <unistd.h>

static inline void
disco_stdio_ensure_open (void)
{
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl (fd, F_GETFD) < 0)
      {
        int null = open ("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (null >= 0 && null != fd)
          {
            dup2 (null, fd);
            close (null);
          }
      }
}
