/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the guest's listening TCP ports, forwarded to 127.0.0.1. */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <berth-backend.h>
#include <berth-error.h>

#include "berth-lima-ports.h"

/* The port the guest's sshd listens on; QEMU forwards it already. */
#define GUEST_SSH_PORT 22
/* Back-off before the watcher is started again: doubles from the first
 * value up to the last; a watcher that ran this long starts from the first
 * value again. */
#define RESTART_FIRST_SECONDS 1
#define RESTART_MAX_SECONDS 30
#define STABLE_RUN_SECONDS 60
#define READ_CHUNK 4096
/* How much of the watcher's stderr the log quotes when it ends. */
#define STDERR_TAIL_MAX 1024
/* How much of a bad line a warning quotes. */
#define QUOTE_MAX 64

/* Ranks of a socket's address: which socket's target a port uses. */
enum
{
  RANK_ANY_V4,
  RANK_ANY_V6,
  RANK_LOOPBACK_V4,
  RANK_LOOPBACK_V6,
  RANK_OTHER_V4,
  RANK_OTHER_V6,
};

/* ---- the set ------------------------------------------------------------- */

typedef struct
{
  gchar *target;
  guint rank;
} PortEntry;

struct _BerthLimaPortSet
{
  GHashTable *ports; /* GUINT_TO_POINTER (port) → PortEntry* */
};

static void
port_entry_free (PortEntry *entry)
{
  g_free (entry->target);
  g_free (entry);
}

BerthLimaPortSet *
berth_lima_port_set_new (void)
{
  BerthLimaPortSet *set = g_new0 (BerthLimaPortSet, 1);

  set->ports = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                      (GDestroyNotify)port_entry_free);
  return set;
}

BerthLimaPortSet *
berth_lima_port_set_copy (const BerthLimaPortSet *set)
{
  BerthLimaPortSet *copy = berth_lima_port_set_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, set->ports);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      PortEntry *entry = value;

      berth_lima_port_set_add (copy, (guint16)GPOINTER_TO_UINT (key), entry->target, entry->rank);
    }
  return copy;
}

void
berth_lima_port_set_free (BerthLimaPortSet *set)
{
  if (set == NULL)
    return;
  g_hash_table_unref (set->ports);
  g_free (set);
}

void
berth_lima_port_set_add (BerthLimaPortSet *set, guint16 port, const gchar *target, guint rank)
{
  PortEntry *entry = g_hash_table_lookup (set->ports, GUINT_TO_POINTER (port));

  if (entry != NULL
      && (entry->rank < rank || (entry->rank == rank && strcmp (entry->target, target) <= 0)))
    return;
  entry = g_new0 (PortEntry, 1);
  entry->target = g_strdup (target);
  entry->rank = rank;
  g_hash_table_replace (set->ports, GUINT_TO_POINTER (port), entry);
}

gboolean
berth_lima_port_set_remove (BerthLimaPortSet *set, guint16 port)
{
  return g_hash_table_remove (set->ports, GUINT_TO_POINTER (port));
}

guint
berth_lima_port_set_size (const BerthLimaPortSet *set)
{
  return g_hash_table_size (set->ports);
}

const gchar *
berth_lima_port_set_lookup (const BerthLimaPortSet *set, guint16 port)
{
  PortEntry *entry = g_hash_table_lookup (set->ports, GUINT_TO_POINTER (port));

  return entry != NULL ? entry->target : NULL;
}

static gint
compare_port (gconstpointer a, gconstpointer b)
{
  return (gint) * (const guint16 *)a - (gint) * (const guint16 *)b;
}

GArray *
berth_lima_port_set_ports (const BerthLimaPortSet *set)
{
  GArray *ports
      = g_array_sized_new (FALSE, FALSE, sizeof (guint16), g_hash_table_size (set->ports));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, set->ports);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      guint16 port = (guint16)GPOINTER_TO_UINT (key);

      g_array_append_val (ports, port);
    }
  g_array_sort (ports, compare_port);
  return ports;
}

/* The ports of @a that @b lacks or reaches at another target. */
static GArray *
ports_not_in (const BerthLimaPortSet *a, const BerthLimaPortSet *b)
{
  g_autoptr (GArray) ports = berth_lima_port_set_ports (a);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint16));

  for (guint i = 0; i < ports->len; i++)
    {
      guint16 port = g_array_index (ports, guint16, i);

      if (g_strcmp0 (berth_lima_port_set_lookup (a, port), berth_lima_port_set_lookup (b, port))
          != 0)
        g_array_append_val (out, port);
    }
  return out;
}

void
berth_lima_port_set_diff (const BerthLimaPortSet *old, const BerthLimaPortSet *new, GArray **added,
                          GArray **removed)
{
  if (added != NULL)
    *added = ports_not_in (new, old);
  if (removed != NULL)
    *removed = ports_not_in (old, new);
}

void
berth_lima_port_set_filter (BerthLimaPortSet *set, guint lowest_port, GArray *privileged)
{
  g_autoptr (GArray) ports = berth_lima_port_set_ports (set);

  for (guint i = 0; i < ports->len; i++)
    {
      guint16 port = g_array_index (ports, guint16, i);

      if (port == GUEST_SSH_PORT)
        berth_lima_port_set_remove (set, port);
      else if (port < lowest_port)
        {
          berth_lima_port_set_remove (set, port);
          if (privileged != NULL)
            g_array_append_val (privileged, port);
        }
    }
}

/* Hex digits only, and how many. */
static gboolean
is_hex (const gchar *text, gsize length)
{
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isxdigit (text[i]))
      return FALSE;
  return length > 0;
}

/* /proc prints each 32-bit word of the address as the guest's CPU holds it:
 * on the little-endian guests Berth runs (x86_64, aarch64) the first byte
 * of the address is the word's lowest. */
static void
decode_words (const gchar *hex, guint n_words, guint8 *bytes)
{
  for (guint w = 0; w < n_words; w++)
    {
      gchar word_text[9];
      guint32 word;

      memcpy (word_text, hex + w * 8, 8);
      word_text[8] = '\0';
      word = (guint32)g_ascii_strtoull (word_text, NULL, 16);
      for (guint b = 0; b < 4; b++)
        bytes[w * 4 + b] = (guint8)(word >> (8 * b));
    }
}

gboolean
berth_lima_port_set_add_line (BerthLimaPortSet *set, const gchar *line, GError **error)
{
  const gchar *colon = strchr (line, ':');
  gsize address_length;
  gsize port_length;
  guint8 bytes[16];
  guint64 port;
  g_autoptr (GInetAddress) address = NULL;
  g_autofree gchar *target = NULL;
  gboolean v6;
  guint rank;

  if (colon == NULL || strchr (colon + 1, ':') != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "not ADDRESS:PORT (one ':' expected)");
      return FALSE;
    }
  address_length = (gsize)(colon - line);
  port_length = strlen (colon + 1);
  if ((address_length != 8 && address_length != 32) || !is_hex (line, address_length))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "the address is not 8 or 32 hex digits");
      return FALSE;
    }
  if (port_length > 4 || !is_hex (colon + 1, port_length))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "the port is not 1 to 4 hex digits");
      return FALSE;
    }
  port = g_ascii_strtoull (colon + 1, NULL, 16);
  if (port == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "port 0 is not a port");
      return FALSE;
    }

  v6 = address_length == 32;
  decode_words (line, v6 ? 4 : 1, bytes);
  /* An IPv4 address as an IPv6 socket shows it (::ffff:a.b.c.d) is reached
   * as IPv4. */
  if (v6)
    {
      static const guint8 mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (bytes, mapped_prefix, sizeof mapped_prefix) == 0)
        {
          memmove (bytes, bytes + 12, 4);
          v6 = FALSE;
        }
    }
  address = g_inet_address_new_from_bytes (bytes, v6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4);

  if (g_inet_address_get_is_any (address))
    {
      rank = v6 ? RANK_ANY_V6 : RANK_ANY_V4;
      target = g_strdup (v6 ? "::1" : "127.0.0.1");
    }
  else if (g_inet_address_get_is_loopback (address))
    {
      /* 127.0.0.53 answers there, not at 127.0.0.1. */
      rank = v6 ? RANK_LOOPBACK_V6 : RANK_LOOPBACK_V4;
      target = g_inet_address_to_string (address);
    }
  else if (v6 && g_inet_address_get_is_link_local (address))
    /* Reaching it needs an interface name, which /proc does not give. */
    return TRUE;
  else
    {
      /* A socket can only listen on one of the guest's own addresses. */
      rank = v6 ? RANK_OTHER_V6 : RANK_OTHER_V4;
      target = g_inet_address_to_string (address);
    }
  berth_lima_port_set_add (set, (guint16)port, target, rank);
  return TRUE;
}

/* ---- the reader ---------------------------------------------------------- */

struct _BerthLimaPortsReader
{
  GString *line;
  gboolean discarding; /* in a line that was too long */
  BerthLimaPortSet *block;
  guint block_lines;
  gboolean block_overflow;
  guint bad_lines;
  gchar *first_bad; /* what the first malformed line of the block said */
};

BerthLimaPortsReader *
berth_lima_ports_reader_new (void)
{
  BerthLimaPortsReader *reader = g_new0 (BerthLimaPortsReader, 1);

  reader->line = g_string_sized_new (64);
  reader->block = berth_lima_port_set_new ();
  return reader;
}

void
berth_lima_ports_reader_free (BerthLimaPortsReader *reader)
{
  if (reader == NULL)
    return;
  g_string_free (reader->line, TRUE);
  berth_lima_port_set_free (reader->block);
  g_free (reader->first_bad);
  g_free (reader);
}

static gchar *
quote_line (const gchar *line)
{
  g_autofree gchar *cut = g_strndup (line, QUOTE_MAX);
  g_autofree gchar *escaped = g_strescape (cut, NULL);

  return g_strdup_printf ("\"%s\"%s", escaped, strlen (line) > QUOTE_MAX ? "…" : "");
}

static void
end_block (BerthLimaPortsReader *reader, GPtrArray *sets, GPtrArray *warnings)
{
  if (reader->bad_lines > 0)
    g_ptr_array_add (warnings,
                     g_strdup_printf ("The guest port watcher printed %u malformed line%s; "
                                      "ignored them (the first: %s)",
                                      reader->bad_lines, reader->bad_lines == 1 ? "" : "s",
                                      reader->first_bad));
  if (reader->block_overflow)
    g_ptr_array_add (warnings,
                     g_strdup_printf ("The guest listens on more than %u sockets; ignored that "
                                      "list and kept the forwards as they were",
                                      BERTH_LIMA_PORTS_MAX_BLOCK));
  else
    g_ptr_array_add (sets, g_steal_pointer (&reader->block));
  g_clear_pointer (&reader->block, berth_lima_port_set_free);
  reader->block = berth_lima_port_set_new ();
  reader->block_lines = 0;
  reader->block_overflow = FALSE;
  reader->bad_lines = 0;
  g_clear_pointer (&reader->first_bad, g_free);
}

static void
take_line (BerthLimaPortsReader *reader, const gchar *line, gsize length, GPtrArray *sets,
           GPtrArray *warnings)
{
  g_autoptr (GError) error = NULL;

  if (line[0] == '\0')
    {
      end_block (reader, sets, warnings);
      return;
    }
  /* The watcher's "still here". */
  if (g_str_equal (line, "."))
    return;
  if (reader->block_overflow)
    return;
  if (++reader->block_lines > BERTH_LIMA_PORTS_MAX_BLOCK)
    {
      reader->block_overflow = TRUE;
      return;
    }
  if (strlen (line) != length)
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "the line holds a NUL byte");
  if (error != NULL || !berth_lima_port_set_add_line (reader->block, line, &error))
    {
      if (reader->bad_lines++ == 0)
        {
          g_autofree gchar *quoted = quote_line (line);

          reader->first_bad = g_strdup_printf ("%s: %s", quoted, error->message);
        }
    }
}

void
berth_lima_ports_reader_feed (BerthLimaPortsReader *reader, const gchar *data, gsize length,
                              GPtrArray *sets, GPtrArray *warnings)
{
  const gchar *end = data + length;

  while (data < end)
    {
      const gchar *newline = memchr (data, '\n', (gsize)(end - data));
      const gchar *stop = newline != NULL ? newline : end;

      if (!reader->discarding)
        {
          if (reader->line->len + (gsize)(stop - data) > BERTH_LIMA_PORTS_MAX_LINE)
            {
              g_ptr_array_add (warnings,
                               g_strdup_printf ("The guest port watcher printed a line of more "
                                                "than %u bytes; ignored it",
                                                BERTH_LIMA_PORTS_MAX_LINE));
              g_string_truncate (reader->line, 0);
              reader->discarding = TRUE;
            }
          else
            g_string_append_len (reader->line, data, stop - data);
        }
      if (newline == NULL)
        break;
      if (reader->discarding)
        reader->discarding = FALSE;
      else
        {
          take_line (reader, reader->line->str, reader->line->len, sets, warnings);
          g_string_truncate (reader->line, 0);
        }
      data = newline + 1;
    }
}

/* The guest's side. Each pass costs one sed and one sleep, however many
 * sockets there are: dash's `read` would take one system call per byte.
 * The sed keeps the local address of the sockets whose state (the fourth
 * field) is 0A, LISTEN. */
static const gchar WATCH_SCRIPT[]
    = "first=1 last= quiet=0\n"
      "while :; do\n"
      "  now=$(sed -n 's/^ *[0-9]*: \\([0-9A-Fa-f]*:[0-9A-Fa-f]*\\) [0-9A-Fa-f]*:[0-9A-Fa-f]* "
      "0A .*/\\1/p' /proc/net/tcp /proc/net/tcp6 2>/dev/null)\n"
      "  if [ -n \"$first\" ] || [ \"$now\" != \"$last\" ]; then\n"
      "    if [ -n \"$now\" ]; then printf '%s\\n\\n' \"$now\"; else printf '\\n'; fi\n"
      "    first= last=$now quiet=0\n"
      "  elif [ \"$quiet\" -ge 20 ]; then\n"
      "    printf '.\\n'\n"
      "    quiet=0\n"
      "  fi\n"
      "  quiet=$((quiet + 1))\n"
      "  sleep 0.5\n"
      "done\n";

const gchar *
berth_lima_ports_watch_script (void)
{
  return WATCH_SCRIPT;
}

/* ---- the object ---------------------------------------------------------- */

typedef struct _Watch Watch;

struct _BerthLimaPorts
{
  GObject parent_instance;

  BerthLimaSsh *ssh;
  BerthLimaPortsLogFunc log_func;
  gpointer log_data;
  gboolean running; /* between start and stop */
  GCancellable *cancellable;

  Watch *watch; /* the watcher's run under way */
  gint64 watcher_started_at;
  guint restart_id;
  guint restart_delay;

  guint lowest_port;
  gboolean told_privileged;

  BerthLimaPortSet *wanted; /* the last block, filtered; NULL before the first */
  BerthLimaPortSet *live;   /* the forwards in place */
  gboolean applying;        /* a worker changes forwards */
  gboolean wanted_changed;  /* a block came while it did */
};

G_DEFINE_FINAL_TYPE (BerthLimaPorts, berth_lima_ports, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
ports_log (BerthLimaPorts *self, const gchar *level, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

static void
ports_log (BerthLimaPorts *self, const gchar *level, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  if (!self->running || self->log_func == NULL)
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  self->log_func (level, message, self->log_data);
}

/* The lowest host port this process may listen on. */
static guint
lowest_bindable_port (void)
{
  g_autofree gchar *text = NULL;
  guint64 value;

  if (geteuid () == 0)
    return 1;
  /* Linux lets this sysctl lower the bar for everyone. */
  if (g_file_get_contents ("/proc/sys/net/ipv4/ip_unprivileged_port_start", &text, NULL, NULL)
      && g_ascii_string_to_unsigned (g_strstrip (text), 10, 0, 65536, &value, NULL))
    return MAX ((guint)value, 1);
  return 1024;
}

/* -- changing the forwards, in a worker thread -- */

typedef struct
{
  guint16 port;
  gchar *target;
  gboolean add;   /* forward; otherwise cancel */
  gboolean ok;    /* the outcome */
  gboolean busy;  /* the host port is taken */
  gchar *message; /* why not */
} ForwardOp;

static void
forward_op_clear (ForwardOp *op)
{
  g_free (op->target);
  g_free (op->message);
}

typedef struct
{
  BerthLimaSsh *ssh;
  GArray *ops; /* ForwardOp */
} ApplyData;

static void
apply_data_free (ApplyData *data)
{
  berth_lima_ssh_free (data->ssh);
  g_array_unref (data->ops);
  g_free (data);
}

static void
apply_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ApplyData *data = task_data;

  for (guint i = 0; i < data->ops->len; i++)
    {
      ForwardOp *op = &g_array_index (data->ops, ForwardOp, i);
      g_autoptr (GError) error = NULL;

      if (g_cancellable_is_cancelled (cancellable))
        break;
      if (op->add)
        op->ok = berth_lima_ssh_forward_port (data->ssh, op->port, op->target, op->port,
                                              cancellable, &error);
      else
        op->ok = berth_lima_ssh_cancel_port_forward (data->ssh, op->port, op->target, op->port,
                                                     cancellable, &error);
      if (!op->ok)
        {
          op->busy = g_error_matches (error, BERTH_ERROR, BERTH_ERROR_BUSY);
          op->message = g_strdup (error != NULL ? error->message : "(no reason)");
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
apply_wanted (BerthLimaPorts *self);

static void
apply_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPorts) self = user_data;
  ApplyData *data = g_task_get_task_data (G_TASK (result));
  gboolean changed = FALSE;

  self->applying = FALSE;
  if (!self->running)
    return;
  for (guint i = 0; i < data->ops->len; i++)
    {
      ForwardOp *op = &g_array_index (data->ops, ForwardOp, i);

      if (!op->add)
        {
          /* A forward that would not end is no use: forget it either way. */
          if (berth_lima_port_set_remove (self->live, op->port))
            changed = TRUE;
          if (op->ok)
            ports_log (self, "info",
                       "Stopped forwarding 127.0.0.1:%u (the guest's port closed or moved)",
                       op->port);
          else if (op->message != NULL)
            ports_log (self, "warning", "%s", op->message);
        }
      else if (op->ok)
        {
          gboolean v6 = strchr (op->target, ':') != NULL;

          berth_lima_port_set_add (self->live, op->port, op->target, 0);
          changed = TRUE;
          ports_log (self, "info", "Forwarding 127.0.0.1:%u to the guest's %s%s%s:%u", op->port,
                     v6 ? "[" : "", op->target, v6 ? "]" : "", op->port);
        }
      else if (op->message != NULL)
        ports_log (self, op->busy ? "warning" : "error", "%s", op->message);
    }
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  if (self->wanted_changed)
    apply_wanted (self);
}

/* Brings the forwards in line with the last block: ends those whose port
 * closed (or moved), then makes the new ones; one worker at a time, so the
 * master sees them in order. A port that failed (its host port taken) is
 * tried again here, each time a new block comes. */
static void
apply_wanted (BerthLimaPorts *self)
{
  g_autoptr (GArray) added = NULL;
  g_autoptr (GArray) removed = NULL;
  g_autoptr (GTask) task = NULL;
  ApplyData *data;

  if (self->wanted == NULL || !self->running)
    return;
  if (self->applying)
    {
      self->wanted_changed = TRUE;
      return;
    }
  self->wanted_changed = FALSE;
  berth_lima_port_set_diff (self->live, self->wanted, &added, &removed);
  if (added->len == 0 && removed->len == 0)
    return;

  data = g_new0 (ApplyData, 1);
  data->ssh = berth_lima_ssh_copy (self->ssh);
  data->ops = g_array_sized_new (FALSE, TRUE, sizeof (ForwardOp), added->len + removed->len);
  g_array_set_clear_func (data->ops, (GDestroyNotify)forward_op_clear);
  for (guint i = 0; i < removed->len; i++)
    {
      ForwardOp op = { 0 };

      op.port = g_array_index (removed, guint16, i);
      op.target = g_strdup (berth_lima_port_set_lookup (self->live, op.port));
      g_array_append_val (data->ops, op);
    }
  for (guint i = 0; i < added->len; i++)
    {
      ForwardOp op = { 0 };

      op.port = g_array_index (added, guint16, i);
      op.target = g_strdup (berth_lima_port_set_lookup (self->wanted, op.port));
      op.add = TRUE;
      g_array_append_val (data->ops, op);
    }
  self->applying = TRUE;
  task = g_task_new (self, self->cancellable, apply_done, g_object_ref (self));
  g_task_set_source_tag (task, apply_wanted);
  g_task_set_task_data (task, data, (GDestroyNotify)apply_data_free);
  g_task_run_in_thread (task, apply_thread);
}

static void
take_block (BerthLimaPorts *self, BerthLimaPortSet *block)
{
  g_autoptr (GArray) privileged = g_array_new (FALSE, FALSE, sizeof (guint16));

  berth_lima_port_set_filter (block, self->lowest_port, privileged);
  if (privileged->len > 0 && !self->told_privileged)
    {
      self->told_privileged = TRUE;
      ports_log (self, "warning",
                 "Not forwarding the guest's port %u, nor any other below %u: only root may "
                 "listen on them on this host and Berth runs as uid %u. Publish on a port of "
                 "%u or more (e.g. docker run -p 8080:80)",
                 g_array_index (privileged, guint16, 0), self->lowest_port, (guint)geteuid (),
                 self->lowest_port);
    }
  g_clear_pointer (&self->wanted, berth_lima_port_set_free);
  self->wanted = block;
  apply_wanted (self);
}

/* -- the watcher process -- */

/* One run of the watcher. It is over when ssh has exited and its stderr
 * is read to the end, so that the log can quote what it said. */
struct _Watch
{
  BerthLimaPorts *self; /* strong */
  GSubprocess *process;
  BerthLimaPortsReader *reader; /* a block half-printed by a watcher that died is void */
  GString *stderr_tail;
  gboolean exited;
  gboolean stderr_done;
};

static void
watch_clear (Watch *watch)
{
  g_clear_object (&watch->self);
  g_clear_object (&watch->process);
  g_clear_pointer (&watch->reader, berth_lima_ports_reader_free);
  g_string_free (watch->stderr_tail, TRUE);
}

static Watch *
watch_ref (Watch *watch)
{
  return g_rc_box_acquire (watch);
}

static void
watch_unref (Watch *watch)
{
  g_rc_box_release_full (watch, (GDestroyNotify)watch_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Watch, watch_unref)

static void
start_watcher (BerthLimaPorts *self);

static gboolean
restart_watcher (gpointer user_data)
{
  BerthLimaPorts *self = user_data;

  self->restart_id = 0;
  start_watcher (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_restart (BerthLimaPorts *self, const gchar *what)
{
  gint64 ran = g_get_monotonic_time () - self->watcher_started_at;

  if (!self->running)
    return;
  if (ran >= STABLE_RUN_SECONDS * G_USEC_PER_SEC || self->restart_delay == 0)
    self->restart_delay = RESTART_FIRST_SECONDS;
  else
    self->restart_delay = MIN (self->restart_delay * 2, RESTART_MAX_SECONDS);
  ports_log (self, "warning",
             "The guest port watcher %s; new ports are not forwarded until it runs again, in "
             "%u s",
             what, self->restart_delay);
  g_clear_handle_id (&self->restart_id, g_source_remove);
  self->restart_id = g_timeout_add_seconds (self->restart_delay, restart_watcher, self);
}

static void
watch_maybe_over (Watch *watch)
{
  BerthLimaPorts *self = watch->self;
  GSubprocess *process = watch->process;
  g_autofree gchar *how = NULL;
  g_autofree gchar *said = NULL;

  if (!watch->exited || !watch->stderr_done || self->watch != watch)
    return;
  g_clear_pointer (&self->watch, watch_unref);
  if (!self->running)
    return;
  if (g_subprocess_get_if_signaled (process))
    how = g_strdup_printf ("was killed by signal %d", g_subprocess_get_term_sig (process));
  else
    how = g_strdup_printf ("ended with status %d", g_subprocess_get_exit_status (process));
  said = g_utf8_make_valid (watch->stderr_tail->str, (gssize)watch->stderr_tail->len);
  g_strstrip (said);
  if (said[0] != '\0')
    {
      g_autofree gchar *what = g_strdup_printf ("%s (%s)", how, said);

      schedule_restart (self, what);
    }
  else
    schedule_restart (self, how);
}

static void
read_stdout (Watch *watch);

static void
stdout_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Watch) watch = user_data;
  BerthLimaPorts *self = watch->self;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  g_autoptr (GPtrArray) sets = NULL;
  g_autoptr (GPtrArray) warnings = NULL;

  /* At the end, or on an error, the watcher's exit is what counts. */
  if (bytes == NULL || g_bytes_get_size (bytes) == 0 || !self->running || self->watch != watch)
    return;
  sets = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_port_set_free);
  warnings = g_ptr_array_new_with_free_func (g_free);
  berth_lima_ports_reader_feed (watch->reader, g_bytes_get_data (bytes, NULL),
                                g_bytes_get_size (bytes), sets, warnings);
  for (guint i = 0; i < warnings->len; i++)
    ports_log (self, "warning", "%s", (const gchar *)g_ptr_array_index (warnings, i));
  /* Only the newest block matters: the others are already out of date. */
  if (sets->len > 0)
    take_block (self, g_ptr_array_steal_index (sets, sets->len - 1));
  read_stdout (watch);
}

static void
read_stdout (Watch *watch)
{
  g_input_stream_read_bytes_async (g_subprocess_get_stdout_pipe (watch->process), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, watch->self->cancellable, stdout_done,
                                   watch_ref (watch));
}

static void
stderr_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Watch) watch = user_data;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  GString *tail = watch->stderr_tail;

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      watch->stderr_done = TRUE;
      watch_maybe_over (watch);
      return;
    }
  g_string_append_len (tail, g_bytes_get_data (bytes, NULL), (gssize)g_bytes_get_size (bytes));
  if (tail->len > STDERR_TAIL_MAX)
    g_string_erase (tail, 0, (gssize)(tail->len - STDERR_TAIL_MAX));
  g_input_stream_read_bytes_async (G_INPUT_STREAM (source), READ_CHUNK, G_PRIORITY_DEFAULT,
                                   watch->self->cancellable, stderr_done, watch_ref (watch));
}

static void
watcher_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Watch) watch = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  watch->exited = TRUE;
  watch_maybe_over (watch);
}

static void
start_watcher (BerthLimaPorts *self)
{
  const gchar *extra[] = { "-o", "ControlMaster=no", "-T", NULL };
  const gchar *remote[] = { "sh", "-c", WATCH_SCRIPT, NULL };
  g_auto (GStrv) argv = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = NULL;
  Watch *watch;

  if (!self->running || self->watch != NULL)
    return;
  argv = berth_lima_ssh_build_argv (self->ssh, extra, remote);
  self->watcher_started_at = g_get_monotonic_time ();
  /* stdin is a pipe nobody writes, rather than the daemon's. */
  process = g_subprocess_newv ((const gchar *const *)argv,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                   | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  if (process == NULL)
    {
      g_autofree gchar *what = g_strdup_printf ("could not start (%s)", error->message);

      schedule_restart (self, what);
      return;
    }
  watch = g_rc_box_new0 (Watch);
  watch->self = g_object_ref (self);
  watch->process = g_steal_pointer (&process);
  watch->reader = berth_lima_ports_reader_new ();
  watch->stderr_tail = g_string_new (NULL);
  self->watch = watch;
  read_stdout (watch);
  g_input_stream_read_bytes_async (g_subprocess_get_stderr_pipe (watch->process), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, self->cancellable, stderr_done,
                                   watch_ref (watch));
  g_subprocess_wait_async (watch->process, NULL, watcher_exited, watch_ref (watch));
}

void
berth_lima_ports_start (BerthLimaPorts *self)
{
  g_return_if_fail (BERTH_LIMA_IS_PORTS (self));

  if (self->running)
    return;
  self->running = TRUE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->lowest_port = lowest_bindable_port ();
  start_watcher (self);
}

gboolean
berth_lima_ports_stop (BerthLimaPorts *self)
{
  gboolean had;

  g_return_val_if_fail (BERTH_LIMA_IS_PORTS (self), FALSE);

  had = berth_lima_port_set_size (self->live) > 0;
  self->running = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->restart_id, g_source_remove);
  if (self->watch != NULL)
    {
      /* ssh ends; the loop in the guest dies at its next write. */
      g_subprocess_force_exit (self->watch->process);
      g_clear_pointer (&self->watch, watch_unref);
    }
  g_clear_pointer (&self->wanted, berth_lima_port_set_free);
  g_clear_pointer (&self->live, berth_lima_port_set_free);
  self->live = berth_lima_port_set_new ();
  return had;
}

GPtrArray *
berth_lima_ports_list (BerthLimaPorts *self)
{
  GPtrArray *forwards = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_port_forward_free);
  g_autoptr (GArray) ports = NULL;

  g_return_val_if_fail (BERTH_LIMA_IS_PORTS (self), forwards);

  ports = berth_lima_port_set_ports (self->live);
  for (guint i = 0; i < ports->len; i++)
    {
      guint16 port = g_array_index (ports, guint16, i);

      g_ptr_array_add (forwards, berth_port_forward_new ("tcp", "127.0.0.1", port, port));
    }
  return forwards;
}

BerthLimaPorts *
berth_lima_ports_new (const BerthLimaSsh *ssh, BerthLimaPortsLogFunc log_func, gpointer user_data)
{
  BerthLimaPorts *self = g_object_new (BERTH_LIMA_TYPE_PORTS, NULL);

  self->ssh = berth_lima_ssh_copy (ssh);
  self->log_func = log_func;
  self->log_data = user_data;
  return self;
}

static void
berth_lima_ports_dispose (GObject *object)
{
  BerthLimaPorts *self = BERTH_LIMA_PORTS (object);

  berth_lima_ports_stop (self);
  G_OBJECT_CLASS (berth_lima_ports_parent_class)->dispose (object);
}

static void
berth_lima_ports_finalize (GObject *object)
{
  BerthLimaPorts *self = BERTH_LIMA_PORTS (object);

  berth_lima_ssh_free (self->ssh);
  g_clear_object (&self->cancellable);
  berth_lima_port_set_free (self->wanted);
  berth_lima_port_set_free (self->live);
  G_OBJECT_CLASS (berth_lima_ports_parent_class)->finalize (object);
}

static void
berth_lima_ports_class_init (BerthLimaPortsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = berth_lima_ports_dispose;
  object_class->finalize = berth_lima_ports_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
berth_lima_ports_init (BerthLimaPorts *self)
{
  self->live = berth_lima_port_set_new ();
  self->cancellable = g_cancellable_new ();
}
