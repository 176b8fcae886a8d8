/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for what libberth-client reads from berthd
 * (client/berth-client-event.c): the bytes are read as one event of
 * /v1/events, and as the credentials file berthd writes. Whatever comes in,
 * the event parser must either refuse it with BERTH_CLIENT_ERROR_PROTOCOL
 * or return an event whose fields are what its kind promises (a known
 * state, keys, a list that is an array, UTF-8 strings); and the event
 * written back in the typed shape must read back as the same event, to the
 * byte. The credentials reader must refuse the bytes or give a port of 1 to
 * 65535 and a user and a password. Built by tests/fuzz/meson.build; run
 * with G_DEBUG=fatal-criticals so that a critical reached from input counts
 * as a crash.
 *
 * Inputs worth keeping go into tests/fuzz/corpus/client-event/, which the
 * unit suite replays (fuzz-replay-client-event). */

#include "config.h"

#include "berth-client-private.h"

#include "fuzz-common.h"

/* Read by ASan and LeakSanitizer when the target is built with them. */
const char *
__asan_default_options (void);
const char *
__lsan_default_suppressions (void);

/* Whole stacks for allocations, through GLib's and json-glib's frames
 * (which have no frame pointers), so that a leak names the Berth function
 * it came from and the suppression below can match it. */
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

/* json-glib 1.6 leaks what it has built of a document it then refuses;
 * berth_client_parse_json() hands it the text that passed its own checks,
 * which a garbled document can. */
const char *
__lsan_default_suppressions (void)
{
  return "leak:berth_client_parse_json\n";
}

static void
assert_utf8 (const gchar *text)
{
  g_assert_true (text == NULL || g_utf8_validate (text, -1, NULL));
}

static void
assert_event_sound (const BerthClientEvent *event)
{
  g_assert_nonnull (event->type);
  assert_utf8 (event->type);
  assert_utf8 (event->reason);
  assert_utf8 (event->state_text);
  assert_utf8 (event->description);
  g_assert_true (event->list == NULL || JSON_NODE_HOLDS_ARRAY (event->list));

  switch (event->kind)
    {
    case BERTH_CLIENT_EVENT_STATE_CHANGED:
      g_assert_cmpuint (event->state, <=, BERTH_CLIENT_STATE_ERROR);
      g_assert_cmpint (event->serial, >=, -1);
      break;
    case BERTH_CLIENT_EVENT_SETTINGS_CHANGED:
      g_assert_nonnull (event->keys);
      for (gsize i = 0; event->keys[i] != NULL; i++)
        assert_utf8 (event->keys[i]);
      break;
    case BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED:
      g_assert_nonnull (event->state_text);
      break;
    case BERTH_CLIENT_EVENT_UPDATE_STATE:
      g_assert_nonnull (event->state_text);
      g_assert_true (event->data != NULL && JSON_NODE_HOLDS_OBJECT (event->data));
      break;
    case BERTH_CLIENT_EVENT_PLUGIN:
      g_assert_nonnull (event->plugin);
      g_assert_nonnull (event->signal);
      g_assert_true (event->data != NULL && JSON_NODE_HOLDS_ARRAY (event->data));
      break;
    case BERTH_CLIENT_EVENT_PROGRESS:
    case BERTH_CLIENT_EVENT_IMAGES_CHANGED:
    case BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED:
    case BERTH_CLIENT_EVENT_SERVICES_CHANGED:
    case BERTH_CLIENT_EVENT_VERSIONS_CHANGED:
    case BERTH_CLIENT_EVENT_DIAGNOSTICS_CHANGED:
    case BERTH_CLIENT_EVENT_UNKNOWN:
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The event written in the typed shape. */
static gchar *
event_text (const BerthClientEvent *event)
{
  g_autoptr (JsonNode) node = berth_client_event_to_json (event);

  return berth_client_json_to_string (node);
}

static void
fuzz_event (const gchar *data, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthClientEvent) event = berth_client_event_parse (data, size, &error);
  g_autoptr (BerthClientEvent) again = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *text_again = NULL;

  if (event == NULL)
    {
      g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL);
      assert_utf8 (error->message);
      return;
    }
  g_assert_no_error (error);
  assert_event_sound (event);

  text = event_text (event);
  again = berth_client_event_parse (text, strlen (text), &error);
  if (again == NULL)
    g_error ("The event written back does not read: %s\n%s", error->message, text);
  g_assert_cmpint (again->kind, ==, event->kind);
  text_again = event_text (again);
  g_assert_cmpstr (text_again, ==, text);
}

static void
fuzz_credentials (const gchar *data, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthClientCredentials) credentials
      = berth_client_credentials_parse (data, size, "fuzz input", &error);

  if (credentials == NULL)
    {
      g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL);
      return;
    }
  g_assert_nonnull (credentials->user);
  g_assert_nonnull (credentials->password);
  g_assert_cmpuint (credentials->port, >=, 1);
  g_assert_cmpuint (credentials->port, <=, G_MAXUINT16);
  g_assert_cmpint (credentials->pid, >=, 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_event ((const gchar *)data, size);
  fuzz_credentials ((const gchar *)data, size);
  return 0;
}
