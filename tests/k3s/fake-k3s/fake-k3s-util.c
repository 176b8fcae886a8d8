/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fake k3s's small helpers: a growing buffer, JSON strings, base64,
 * files under its root, times. */
#include "fake-k3s.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
fake_buf_init (FakeBuf *buf)
{
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
}

void
fake_buf_free (FakeBuf *buf)
{
  free (buf->data);
  fake_buf_init (buf);
}

static void
reserve (FakeBuf *buf, size_t more)
{
  size_t need = buf->len + more + 1;

  if (need <= buf->cap)
    return;
  buf->cap = buf->cap == 0 ? 256 : buf->cap;
  while (buf->cap < need)
    buf->cap *= 2;
  buf->data = realloc (buf->data, buf->cap);
  if (buf->data == NULL)
    fake_die ("out of memory");
}

void
fake_buf_append (FakeBuf *buf, const char *data, size_t len)
{
  reserve (buf, len);
  memcpy (buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
}

void
fake_buf_puts (FakeBuf *buf, const char *text)
{
  fake_buf_append (buf, text, strlen (text));
}

void
fake_buf_printf (FakeBuf *buf, const char *format, ...)
{
  va_list args;
  int n;

  va_start (args, format);
  n = vsnprintf (NULL, 0, format, args);
  va_end (args);
  if (n < 0)
    fake_die ("cannot format a message");
  reserve (buf, (size_t)n);
  va_start (args, format);
  vsnprintf (buf->data + buf->len, (size_t)n + 1, format, args);
  va_end (args);
  buf->len += (size_t)n;
}

void
fake_buf_json_string (FakeBuf *buf, const char *text)
{
  fake_buf_puts (buf, "\"");
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        fake_buf_printf (buf, "\\%c", *p);
      else if (*p < 0x20)
        fake_buf_printf (buf, "\\u%04x", *p);
      else
        fake_buf_append (buf, (const char *)p, 1);
    }
  fake_buf_puts (buf, "\"");
}

void
fake_buf_base64 (FakeBuf *buf, const unsigned char *data, size_t len)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  for (size_t i = 0; i < len; i += 3)
    {
      unsigned value = (unsigned)data[i] << 16;
      char out[4];

      if (i + 1 < len)
        value |= (unsigned)data[i + 1] << 8;
      if (i + 2 < len)
        value |= data[i + 2];
      out[0] = alphabet[(value >> 18) & 63];
      out[1] = alphabet[(value >> 12) & 63];
      out[2] = i + 1 < len ? alphabet[(value >> 6) & 63] : '=';
      out[3] = i + 2 < len ? alphabet[value & 63] : '=';
      fake_buf_append (buf, out, 4);
    }
}

static void
vlog (const char *format, va_list args) __attribute__ ((format (printf, 1, 0)));

static void
vlog (const char *format, va_list args)
{
  char line[2048];

  vsnprintf (line, sizeof line, format, args);
  fprintf (stderr, "fake k3s: %s\n", line);
  fflush (stderr);
}

void
fake_log (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vlog (format, args);
  va_end (args);
}

void
fake_die (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vlog (format, args);
  va_end (args);
  exit (1);
}

char *
fake_root_path (const char *absolute)
{
  const char *root = getenv ("BERTH_FAKE_K3S_ROOT");
  FakeBuf path;

  fake_buf_init (&path);
  if (root != NULL && root[0] != '\0')
    {
      fake_buf_puts (&path, root);
      while (path.len > 0 && path.data[path.len - 1] == '/')
        path.data[--path.len] = '\0';
    }
  fake_buf_puts (&path, absolute);
  return path.data;
}

char *
fake_read_file (const char *path, size_t max, size_t *len_out)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  FakeBuf buf;

  if (fd < 0)
    return NULL;
  fake_buf_init (&buf);
  fake_buf_append (&buf, "", 0);
  for (;;)
    {
      char chunk[8192];
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          fake_buf_free (&buf);
          errno = saved;
          return NULL;
        }
      if (n == 0)
        break;
      if (buf.len + (size_t)n > max)
        {
          close (fd);
          fake_buf_free (&buf);
          errno = EFBIG;
          return NULL;
        }
      fake_buf_append (&buf, chunk, (size_t)n);
    }
  close (fd);
  if (len_out != NULL)
    *len_out = buf.len;
  return buf.data;
}

bool
fake_write_file (const char *path, const char *data, size_t len, unsigned mode)
{
  FakeBuf tmp;
  int fd;
  bool ok = true;

  fake_buf_init (&tmp);
  fake_buf_printf (&tmp, "%s.fake-tmp-%ld", path, (long)getpid ());
  fd = open (tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    {
      fake_buf_free (&tmp);
      return false;
    }
  for (size_t done = 0; ok && done < len;)
    {
      ssize_t n = write (fd, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        ok = false;
      else
        done += (size_t)n;
    }
  ok = ok && fchmod (fd, mode) == 0 && fsync (fd) == 0;
  ok = close (fd) == 0 && ok;
  ok = ok && rename (tmp.data, path) == 0;
  if (!ok)
    unlink (tmp.data);
  fake_buf_free (&tmp);
  return ok;
}

bool
fake_mkdir_p (const char *path, unsigned mode)
{
  char *copy = strdup (path);
  bool ok = true;

  if (copy == NULL)
    return false;
  for (char *p = copy + 1; ok; p++)
    {
      if (*p == '/' || *p == '\0')
        {
          char saved = *p;

          *p = '\0';
          if (mkdir (copy, mode) != 0 && errno != EEXIST)
            ok = false;
          *p = saved;
          if (saved == '\0')
            break;
        }
    }
  free (copy);
  return ok;
}

void
fake_format_time (time_t when, char out[32])
{
  struct tm tm;

  gmtime_r (&when, &tm);
  strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
fake_format_age (time_t since, char out[16])
{
  long seconds = (long)(time (NULL) - since);

  if (seconds < 0)
    seconds = 0;
  /* Ten years at most: the number then always fits. */
  if (seconds > 3650L * 86400)
    seconds = 3650L * 86400;
  if (seconds < 120)
    snprintf (out, 16, "%lds", seconds);
  else if (seconds < 2 * 3600)
    snprintf (out, 16, "%ldm", seconds / 60);
  else if (seconds < 2 * 86400)
    snprintf (out, 16, "%ldh", seconds / 3600);
  else
    snprintf (out, 16, "%ldd", seconds / 86400);
}

char *
fake_version (void)
{
  char *path = fake_root_path ("/var/lib/rancher/k3s/version");
  char *text = fake_read_file (path, 256, NULL);
  size_t n;

  free (path);
  if (text != NULL)
    {
      n = strcspn (text, " \t\r\n");
      text[n] = '\0';
      if (n > 0 && text[0] == 'v')
        return text;
      free (text);
    }
  return strdup (FAKE_K3S_DEFAULT_VERSION);
}

void
fake_primary_address (char out[16])
{
  struct ifaddrs *list = NULL;

  out[0] = '\0';
  if (getifaddrs (&list) != 0)
    return;
  for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
    {
      if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET
          || (i->ifa_flags & IFF_LOOPBACK) != 0 || (i->ifa_flags & IFF_UP) == 0)
        continue;
      inet_ntop (AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, out, 16);
      break;
    }
  freeifaddrs (list);
}
