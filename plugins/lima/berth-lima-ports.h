/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-lima-ssh.h"

G_BEGIN_DECLS

/* The guest's listening TCP ports, forwarded to 127.0.0.1 on the host.
 *
 * A small shell loop runs in the guest through the SSH master (the script
 * travels as the ssh command; the guest image needs nothing). Every half
 * second it reads /proc/net/tcp and /proc/net/tcp6, keeps the sockets in
 * LISTEN, and when that set changed prints it as one block: one
 * "ADDRESS:PORT" line per socket, in /proc's hex, then an empty line. A
 * line "." now and then says it is still there (and makes a loop whose
 * reader is gone die of SIGPIPE). The host parses the blocks, keeps one
 * forward per guest port (`ssh -O forward -L 127.0.0.1:P:TARGET:P` through
 * the master) and drops the forwards of ports that closed. */

/* Longest line and largest block the reader takes; more is ignored (with a
 * warning), never an error. */
#define BERTH_LIMA_PORTS_MAX_LINE 256
#define BERTH_LIMA_PORTS_MAX_BLOCK 4096

/* ---- pure parts (no I/O; unit-tested) ---------------------------------- */

/* The guest ports that listen, each with the guest address a forward
 * connects to: a socket bound to the wildcard or to a loopback address is
 * reached on loopback, one bound to another of the guest's addresses at that
 * address. When several sockets share a port, the wildcard wins, then
 * IPv4 over IPv6, then loopback over other addresses. */
typedef struct _BerthLimaPortSet BerthLimaPortSet;

BerthLimaPortSet *
berth_lima_port_set_new (void);
BerthLimaPortSet *
berth_lima_port_set_copy (const BerthLimaPortSet *set);
void
berth_lima_port_set_free (BerthLimaPortSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaPortSet, berth_lima_port_set_free)

/* Parses one of /proc/net/tcp{,6}'s local addresses as the watcher prints
 * it ("0100007F:1F90": 8 hex digits for IPv4, 32 for IPv6, each 32-bit word
 * in the guest's little-endian order, then the port in hex) and adds it.
 * Returns FALSE with an error when the line is malformed; TRUE, adding
 * nothing, for a socket no forward can reach (an IPv6 link-local address,
 * which needs an interface). */
gboolean
berth_lima_port_set_add_line (BerthLimaPortSet *set, const gchar *line, GError **error);
/* Adds @port reached at @target, unless the port already has a better
 * target (see above); @rank orders them, lower is better. */
void
berth_lima_port_set_add (BerthLimaPortSet *set, guint16 port, const gchar *target, guint rank);
/* Removes @port; TRUE when it was there. */
gboolean
berth_lima_port_set_remove (BerthLimaPortSet *set, guint16 port);
guint
berth_lima_port_set_size (const BerthLimaPortSet *set);
/* The guest address a forward of @port connects to, or NULL. */
const gchar *
berth_lima_port_set_lookup (const BerthLimaPortSet *set, guint16 port);
/* The ports, ascending. Element type guint16. */
GArray *
berth_lima_port_set_ports (const BerthLimaPortSet *set);
/* What turns @old into @new: @removed holds the ports of @old that are not
 * in @new or whose target changed, @added the ports of @new that are not in
 * @old or whose target changed. Both ascending, element type guint16. */
void
berth_lima_port_set_diff (const BerthLimaPortSet *old, const BerthLimaPortSet *new, GArray **added,
                          GArray **removed);
/* Drops what the host does not forward: port 22 (the guest's sshd, which
 * QEMU forwards already) and, when @lowest_port is above 1, ports below it
 * (the host refuses them to a user who is not root). The ports dropped for
 * being below @lowest_port go to @privileged (may be NULL). */
void
berth_lima_port_set_filter (BerthLimaPortSet *set, guint lowest_port, GArray *privileged);

/* Splits the watcher's output into blocks, whatever the chunks it arrives
 * in, within the bounds above. */
typedef struct _BerthLimaPortsReader BerthLimaPortsReader;

BerthLimaPortsReader *
berth_lima_ports_reader_new (void);
void
berth_lima_ports_reader_free (BerthLimaPortsReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaPortsReader, berth_lima_ports_reader_free)
/* Feeds @length bytes. Each block completed is appended to @sets (element
 * type BerthLimaPortSet*, owned by the array's free function); what was
 * ignored, and why, to @warnings (gchar*), a line for a person. */
void
berth_lima_ports_reader_feed (BerthLimaPortsReader *reader, const gchar *data, gsize length,
                              GPtrArray *sets, GPtrArray *warnings);

/* The shell script the guest runs. */
const gchar *
berth_lima_ports_watch_script (void);

/* ---- the watcher and the forwards -------------------------------------- */

/* How BerthLimaPorts tells what it did: @level is "info", "warning" or
 * "error", as in Lima's host agent log. */
typedef void (*BerthLimaPortsLogFunc) (const gchar *level, const gchar *message,
                                       gpointer user_data);

#define BERTH_LIMA_TYPE_PORTS (berth_lima_ports_get_type ())
G_DECLARE_FINAL_TYPE (BerthLimaPorts, berth_lima_ports, BERTH_LIMA, PORTS, GObject)

/* Signals:
 *   "changed" (): the forwards in place changed; emitted on the main
 *   context, never after berth_lima_ports_stop. */
BerthLimaPorts *
berth_lima_ports_new (const BerthLimaSsh *ssh, BerthLimaPortsLogFunc log_func, gpointer user_data);
/* Starts the watcher in the guest (through the SSH master); restarts it,
 * with a back-off, when it ends while not stopped. */
void
berth_lima_ports_start (BerthLimaPorts *self);
/* Ends the watcher and forgets the forwards (they end with the master); no
 * signal or log line after this. Returns whether there were any. */
gboolean
berth_lima_ports_stop (BerthLimaPorts *self);
/* The forwards in place: host 127.0.0.1:P to guest port P. Element type
 * BerthPortForward. */
GPtrArray *
berth_lima_ports_list (BerthLimaPorts *self);

G_END_DECLS
