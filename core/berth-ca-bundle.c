/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — CA certificate bundles: reading PEM, this host's store, merging. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "berth-ca-bundle.h"
#include "berth-error.h"

#define PEM_DASHES "-----"
#define PEM_BEGIN "-----BEGIN "
#define PEM_END "-----END "
#define CERTIFICATE_LABEL "CERTIFICATE"
/* The longest block label reported as it is; longer ones are not PEM. */
#define MAX_LABEL 64

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)

static gboolean
set_parse_error (GError **error, const gchar *what, guint line, const gchar *format, ...)
    G_GNUC_PRINTF (4, 5);

static gboolean
set_parse_error (GError **error, const gchar *what, guint line, const gchar *format, ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (line > 0)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s, line %u: %s", what, line,
                 message);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s: %s", what, message);
  return FALSE;
}

/* The label of a "-----BEGIN LABEL-----" or "-----END LABEL-----" line
 * (@prefix is which), or NULL when @line is not one. */
static gchar *
pem_label (const gchar *line, gsize length, const gchar *prefix)
{
  gsize prefix_length = strlen (prefix);
  gsize dashes = strlen (PEM_DASHES);

  if (length < prefix_length + dashes || strncmp (line, prefix, prefix_length) != 0
      || strncmp (line + length - dashes, PEM_DASHES, dashes) != 0)
    return NULL;
  return g_strndup (line + prefix_length, length - prefix_length - dashes);
}

/* Whether @label can be shown in a message as it is. */
static gboolean
is_printable_label (const gchar *label)
{
  gsize length = strlen (label);

  if (length == 0 || length > MAX_LABEL)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isprint (label[i]))
      return FALSE;
  return TRUE;
}

static gboolean
is_base64_char (gchar c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/' || c == '=';
}

/* Strict base64: whole quanta, '=' only as the last one or two. */
static gboolean
is_base64_text (const GString *text)
{
  const gchar *padding;

  if (text->len == 0 || text->len % 4 != 0)
    return FALSE;
  padding = strchr (text->str, '=');
  if (padding == NULL)
    return TRUE;
  if (padding < text->str + text->len - 2)
    return FALSE;
  for (const gchar *p = padding; *p != '\0'; p++)
    if (*p != '=')
      return FALSE;
  return TRUE;
}

/* The DER bytes of the block whose base64 is @body, checked to be one
 * X.509 certificate. */
static GBytes *
decode_certificate (const GString *body, const gchar *what, guint begin_line, GError **error)
{
  g_auto (gnutls_x509_crt_t) crt = NULL;
  gnutls_datum_t datum;
  gsize der_length = 0;
  guchar *der;
  int ret;

  if (!is_base64_text (body))
    {
      set_parse_error (error, what, begin_line,
                       "the certificate's body is not base64 (a whole number of 4-character "
                       "groups, '=' only at its end)");
      return NULL;
    }
  der = g_base64_decode (body->str, &der_length);
  if (gnutls_x509_crt_init (&crt) < 0)
    {
      g_free (der);
      set_parse_error (error, what, begin_line, "out of memory");
      return NULL;
    }
  datum.data = der;
  datum.size = (unsigned int)der_length;
  ret = der_length > 0 ? gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER)
                       : GNUTLS_E_ASN1_DER_ERROR;
  if (ret < 0)
    {
      g_free (der);
      set_parse_error (error, what, begin_line, "the block is not an X.509 certificate (%s)",
                       gnutls_strerror (ret));
      return NULL;
    }
  return g_bytes_new_take (der, der_length);
}

GPtrArray *
berth_ca_bundle_parse (const gchar *data, gsize length, const gchar *what, GError **error)
{
  g_autoptr (GPtrArray) certificates
      = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GString) body = g_string_new (NULL);
  gboolean inside = FALSE;
  guint begin_line = 0;
  guint line_number = 0;
  gsize offset = 0;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  while (offset < length)
    {
      const gchar *line = data + offset;
      const gchar *newline = memchr (line, '\n', length - offset);
      gsize line_length = newline != NULL ? (gsize)(newline - line) : length - offset;
      g_autofree gchar *begin = NULL;
      g_autofree gchar *end = NULL;

      offset += line_length + (newline != NULL ? 1 : 0);
      line_number++;
      /* CRLF and trailing blanks are allowed, as OpenSSL allows them. */
      while (line_length > 0
             && (line[line_length - 1] == '\r' || line[line_length - 1] == ' '
                 || line[line_length - 1] == '\t'))
        line_length--;
      begin = pem_label (line, line_length, PEM_BEGIN);
      end = pem_label (line, line_length, PEM_END);

      if (!inside)
        {
          if (end != NULL)
            {
              set_parse_error (error, what, line_number, "an END line without its BEGIN line");
              return NULL;
            }
          if (begin == NULL)
            continue; /* text between blocks */
          if (!is_printable_label (begin))
            {
              set_parse_error (error, what, line_number, "a BEGIN line that is not PEM");
              return NULL;
            }
          if (!g_str_equal (begin, CERTIFICATE_LABEL))
            {
              set_parse_error (error, what, line_number,
                               "a \"%s\" block; only CERTIFICATE blocks are allowed in a file "
                               "of CA certificates (no keys, no OpenSSL TRUSTED CERTIFICATE "
                               "form)",
                               begin);
              return NULL;
            }
          if (certificates->len >= BERTH_CA_BUNDLE_MAX_CERTIFICATES)
            {
              set_parse_error (error, what, line_number,
                               "more than %d certificates; Berth takes at most that many",
                               BERTH_CA_BUNDLE_MAX_CERTIFICATES);
              return NULL;
            }
          inside = TRUE;
          begin_line = line_number;
          g_string_truncate (body, 0);
          continue;
        }

      if (begin != NULL)
        {
          set_parse_error (error, what, line_number,
                           "a BEGIN line inside the certificate begun at line %u, which has no "
                           "END line",
                           begin_line);
          return NULL;
        }
      if (end != NULL)
        {
          GBytes *der;

          if (!g_str_equal (end, CERTIFICATE_LABEL))
            {
              set_parse_error (error, what, line_number,
                               "the certificate begun at line %u ends with another END line "
                               "than -----END CERTIFICATE-----",
                               begin_line);
              return NULL;
            }
          der = decode_certificate (body, what, begin_line, error);
          if (der == NULL)
            return NULL;
          g_ptr_array_add (certificates, der);
          inside = FALSE;
          continue;
        }
      for (gsize i = 0; i < line_length; i++)
        {
          if (line[i] == ' ' || line[i] == '\t')
            continue;
          if (!is_base64_char (line[i]))
            {
              set_parse_error (error, what, line_number,
                               "a character that is not base64 (byte 0x%02x) in the "
                               "certificate begun at line %u",
                               (guint)(guchar)line[i], begin_line);
              return NULL;
            }
          g_string_append_c (body, line[i]);
        }
    }

  if (inside)
    {
      set_parse_error (error, what, begin_line, "the certificate begun here has no END line");
      return NULL;
    }
  if (certificates->len == 0)
    {
      set_parse_error (error, what, 0,
                       "holds no PEM certificate (a \"-----BEGIN CERTIFICATE-----\" block); a "
                       "DER file converts with `openssl x509 -inform der -in FILE -out "
                       "FILE.pem`");
      return NULL;
    }
  return g_steal_pointer (&certificates);
}

GPtrArray *
berth_ca_bundle_load_file (const gchar *path, GError **error)
{
  g_autofree gchar *data = NULL;
  struct stat info;
  gssize got;
  gsize length = 0;
  gsize capacity;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR,
                   saved == ENOENT   ? BERTH_ERROR_NOT_FOUND
                   : saved == EACCES ? BERTH_ERROR_AUTH
                                     : BERTH_ERROR_FAILED,
                   "Cannot read the CA certificates in %s: %s", path, g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &info) != 0 || !S_ISREG (info.st_mode))
    {
      close (fd);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a regular file; name a PEM file of CA certificates", path);
      return NULL;
    }
  if (info.st_size > BERTH_CA_BUNDLE_MAX_BYTES)
    {
      close (fd);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GINT64_FORMAT " bytes, more than the %d a file of CA "
                   "certificates may be",
                   path, (gint64)info.st_size, BERTH_CA_BUNDLE_MAX_BYTES);
      return NULL;
    }
  /* One byte more than it was: a file that grew meanwhile is noticed. */
  capacity = (gsize)info.st_size + 1;
  data = g_malloc (capacity);
  while (length < capacity)
    {
      got = read (fd, data + length, capacity - length);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          int saved = errno;

          close (fd);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "Cannot read the CA certificates in %s: %s", path, g_strerror (saved));
          return NULL;
        }
      if (got == 0)
        break;
      length += (gsize)got;
    }
  close (fd);
  if (length == capacity)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "%s changed while Berth read it; try again once it is written", path);
      return NULL;
    }
  return berth_ca_bundle_parse (data, length, path, error);
}

GPtrArray *
berth_ca_bundle_load_host (GError **error)
{
  g_autoptr (GPtrArray) certificates
      = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  const gchar *file = g_getenv ("SSL_CERT_FILE");
  gnutls_x509_trust_list_t list = NULL;
  gnutls_x509_trust_list_iter_t iter = NULL;
  gnutls_x509_crt_t crt = NULL;

  if (file != NULL && file[0] != '\0')
    {
      GPtrArray *from_file = berth_ca_bundle_load_file (file, error);

      if (from_file == NULL)
        g_prefix_error (error, "SSL_CERT_FILE names this host's CA certificates: ");
      return from_file;
    }

  if (gnutls_x509_trust_list_init (&list, 0) < 0)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                           "Cannot read this host's CA certificates: out of memory");
      return NULL;
    }
  if (gnutls_x509_trust_list_add_system_trust (list, 0, 0) <= 0)
    g_debug ("GnuTLS found no system trust store: no host CA certificates for the VM");
  while (certificates->len < BERTH_CA_BUNDLE_MAX_CERTIFICATES
         && gnutls_x509_trust_list_iter_get_ca (list, &iter, &crt) == 0)
    {
      gnutls_datum_t der = { NULL, 0 };

      if (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der) == 0)
        {
          g_ptr_array_add (certificates, g_bytes_new (der.data, der.size));
          gnutls_free (der.data);
        }
      gnutls_x509_crt_deinit (crt);
      crt = NULL;
    }
  gnutls_x509_trust_list_iter_deinit (iter);
  gnutls_x509_trust_list_deinit (list, 1);
  return g_steal_pointer (&certificates);
}

guint
berth_ca_bundle_merge (GPtrArray *into, GPtrArray *more)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_bytes_hash, g_bytes_equal);
  guint added = 0;

  g_return_val_if_fail (into != NULL, 0);
  g_return_val_if_fail (more != NULL, 0);

  for (guint i = 0; i < into->len; i++)
    g_hash_table_add (seen, g_ptr_array_index (into, i));
  for (guint i = 0; i < more->len; i++)
    {
      GBytes *der = g_ptr_array_index (more, i);

      if (!g_hash_table_add (seen, der))
        continue;
      g_ptr_array_add (into, g_bytes_ref (der));
      added++;
    }
  return added;
}

gchar *
berth_ca_bundle_to_pem (GPtrArray *certificates)
{
  GString *pem = g_string_new (NULL);

  g_return_val_if_fail (certificates != NULL, NULL);

  for (guint i = 0; i < certificates->len; i++)
    {
      GBytes *der = g_ptr_array_index (certificates, i);
      gsize size = 0;
      const guchar *bytes = g_bytes_get_data (der, &size);
      g_autofree gchar *base64 = g_base64_encode (bytes, size);
      gsize base64_length = strlen (base64);

      g_string_append (pem, PEM_BEGIN CERTIFICATE_LABEL PEM_DASHES "\n");
      for (gsize at = 0; at < base64_length; at += 64)
        {
          g_string_append_len (pem, base64 + at, MIN (64, base64_length - at));
          g_string_append_c (pem, '\n');
        }
      g_string_append (pem, PEM_END CERTIFICATE_LABEL PEM_DASHES "\n");
    }
  return g_string_free (pem, FALSE);
}
