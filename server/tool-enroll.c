/* tool-enroll.c: RELOAD enrollment (RFC 6940 §11.3).
 *
 * `disco enroll-server`: a small CA over HTTPS (libsoup 3).  GET
 * /.well-known/reload-config serves the overlay configuration document
 * (application/p2p-overlay+xml) naming this CA as root-cert and this server
 * as enrollment-server; POST /enroll takes a multipart/form-data request with
 * a "csr" part (application/pkcs10), or a bare application/pkcs10 body, and
 * answers with the DER certificate (application/pkix-cert) or 403 and the
 * RFC's text/plain error token.  With --users FILE ("user:password" lines)
 * the form must carry a matching username and password and the CSR must ask
 * for that user name; without it anyone who can reach the server gets a
 * certificate for the name in its CSR (use --domain to restrict names).
 *
 * `disco enroll`: generates a key, fetches the configuration, posts a CSR,
 * checks the answer chains to the configured root, and saves key,
 * certificate and overlay.xml in the data dir.
 */
#define G_LOG_DOMAIN "disco-tool"

#include <gio/gio.h>
#include <glib-unix.h>
#include <json-c/json.h>
#include <libsoup/soup.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disco-tool.h"
#include "reload-identity.h"
#include "reload-node-profile.h"
#include "reload-signature.h"

#define CONFIG_PATH "/.well-known/reload-config"
#define ENROLL_PATH "/enroll"
#define MAX_CSR_BYTES (64 * 1024)

/* ---- the server's own HTTPS certificate ------------------------------------ */

/* A self-signed RSA certificate for the HTTPS endpoint: CN and DNS SAN =
 * the overlay name, IP SAN = the listening address, so clients can verify
 * it against the file with --ca-file. */
static gboolean
make_https_cert (const char *cert_path, const char *key_path, const char *overlay, GInetAddress *ip,
                 GError **error)
{
  EVP_PKEY *key = EVP_RSA_gen (2048);
  X509 *x = X509_new ();
  gboolean ok = FALSE;
  FILE *f = NULL;
  g_autofree char *ip_text = g_inet_address_to_string (ip);
  g_autofree char *san = g_strdup_printf ("DNS:%s,IP:%s", overlay, ip_text);

  if (key == NULL || x == NULL)
    goto out;
  X509_set_version (x, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (x), (long)g_random_int_range (1, G_MAXINT32));
  X509_gmtime_adj (X509_getm_notBefore (x), -3600);
  X509_gmtime_adj (X509_getm_notAfter (x), 365L * 24 * 3600);
  X509_set_pubkey (x, key);
  X509_NAME *name = X509_get_subject_name (x);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8, (const unsigned char *)overlay, -1, -1, 0);
  X509_set_issuer_name (x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb (&v3);
  X509V3_set_ctx (&v3, x, x, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, &v3, NID_subject_alt_name, san);
  if (ext == NULL)
    goto out;
  X509_add_ext (x, ext, -1);
  X509_EXTENSION_free (ext);
  ext = X509V3_EXT_conf_nid (NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
  if (ext)
    {
      X509_add_ext (x, ext, -1);
      X509_EXTENSION_free (ext);
    }
  if (X509_sign (x, key, EVP_sha256 ()) <= 0)
    goto out;
  f = fopen (key_path, "w");
  if (f == NULL)
    goto out;
  fchmod (fileno (f), 0600);
  if (PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL) != 1)
    goto out;
  fclose (f);
  f = fopen (cert_path, "w");
  if (f == NULL || PEM_write_X509 (f, x) != 1)
    goto out;
  ok = TRUE;
out:
  if (f)
    fclose (f);
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make the HTTPS certificate %s",
                 cert_path);
  X509_free (x);
  EVP_PKEY_free (key);
  return ok;
}

/* ---- server ------------------------------------------------------------------ */

typedef struct
{
  DiscoReloadCa *ca;
  char *overlay;
  char *config_xml;
  gsize config_len;
  guint max_node_ids;
  guint issued;
  GHashTable *users; /* user -> password, or NULL: no authentication */
} EnrollServer;

/* The form fields of an enrollment POST (RFC 6940 §11.3). */
typedef struct
{
  GBytes *csr;
  guint n_node_ids;
  char *username;
  char *password;
} EnrollForm;

static void
enroll_form_clear (EnrollForm *f)
{
  g_clear_pointer (&f->csr, g_bytes_unref);
  g_clear_pointer (&f->username, g_free);
  g_clear_pointer (&f->password, g_free);
}

static char *
part_text (GBytes *b)
{
  gsize len;
  const char *d = g_bytes_get_data (b, &len);
  return g_strndup (d, MIN (len, 256));
}

static void
reply_text (SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
on_config (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  EnrollServer *es = user_data;
  if (!g_str_equal (soup_server_message_get_method (msg), "GET"))
    {
      reply_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only");
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/p2p-overlay+xml", SOUP_MEMORY_COPY,
                                    es->config_xml, es->config_len);
}

/* The CSR and the number of Node-IDs from a multipart form, or a bare
 * application/pkcs10 body. */
static gboolean
extract_form (SoupServerMessage *msg, EnrollForm *form)
{
  SoupMessageHeaders *hdrs = soup_server_message_get_request_headers (msg);
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  const char *ctype = soup_message_headers_get_content_type (hdrs, NULL);

  form->n_node_ids = 1;
  if (ctype && g_ascii_strcasecmp (ctype, "application/pkcs10") == 0)
    {
      form->csr = g_bytes_ref (body);
      return TRUE;
    }
  if (ctype == NULL || g_ascii_strcasecmp (ctype, "multipart/form-data") != 0)
    return FALSE;
  g_autoptr (SoupMultipart) mp = soup_multipart_new_from_message (hdrs, body);
  if (mp == NULL)
    return FALSE;
  for (int i = 0; i < soup_multipart_get_length (mp); i++)
    {
      SoupMessageHeaders *ph;
      GBytes *pb;
      char *disposition = NULL;
      GHashTable *params = NULL;
      if (!soup_multipart_get_part (mp, i, &ph, &pb)
          || !soup_message_headers_get_content_disposition (ph, &disposition, &params))
        continue;
      const char *name = g_hash_table_lookup (params, "name");
      if (name && g_str_equal (name, "csr") && form->csr == NULL)
        form->csr = g_bytes_ref (pb);
      else if (name && g_str_equal (name, "nodeids"))
        {
          g_autofree char *t = part_text (pb);
          form->n_node_ids = (guint)g_ascii_strtoull (t, NULL, 10);
        }
      else if (name && g_str_equal (name, "username") && form->username == NULL)
        form->username = part_text (pb);
      else if (name && g_str_equal (name, "password") && form->password == NULL)
        form->password = part_text (pb);
      g_free (disposition);
      g_hash_table_unref (params);
    }
  return form->csr != NULL;
}

/* Constant-time comparison, so response timing does not leak the password. */
static gboolean
password_ok (const char *want, const char *got)
{
  gsize wl = strlen (want), gl = got ? strlen (got) : 0;
  guint diff = (guint)(wl ^ gl);
  for (gsize i = 0; i < wl; i++)
    diff |= (guint)(guint8)want[i] ^ (guint)(guint8)(i < gl ? got[i] : 0);
  return got != NULL && diff == 0;
}

static void
on_enroll (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  EnrollServer *es = user_data;
  if (!g_str_equal (soup_server_message_get_method (msg), "POST"))
    {
      reply_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "POST a PKCS#10 request");
      return;
    }
  if (soup_server_message_get_request_body (msg)->length > MAX_CSR_BYTES)
    {
      reply_text (msg, SOUP_STATUS_FORBIDDEN, "bad_CSR");
      return;
    }
  EnrollForm form = { 0 };
  if (!extract_form (msg, &form))
    {
      enroll_form_clear (&form);
      reply_text (msg, SOUP_STATUS_FORBIDDEN, "bad_CSR");
      return;
    }
  const char *token = NULL;
  if (es->users)
    {
      const char *want = form.username ? g_hash_table_lookup (es->users, form.username) : NULL;
      /* Compare even for unknown users so timing does not tell them apart. */
      if (!password_ok (want ? want : "\x01unknown", form.password) || want == NULL)
        token = "failed_authentication";
    }
  if (token == NULL && (form.n_node_ids == 0 || form.n_node_ids > es->max_node_ids))
    token = "Node-IDs_not_available";
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) cert = NULL;
  if (token == NULL)
    {
      cert = disco_reload_ca_issue (es->ca, form.csr, es->overlay, form.n_node_ids, 0, &error);
      if (cert == NULL)
        {
          g_message ("refusing an enrollment: %s", error->message);
          token = disco_reload_enrollment_error_token (error);
        }
    }
  gsize len = 0;
  const guint8 *der = cert ? g_bytes_get_data (cert, &len) : NULL;
  g_autoptr (DiscoReloadCert) parsed = der ? disco_reload_cert_new_from_der (der, len, NULL) : NULL;
  /* An authenticated user gets certificates for its own name only. */
  if (token == NULL && es->users
      && (parsed == NULL || g_strcmp0 (parsed->user_name, form.username) != 0))
    token = "username_not_available";
  if (token)
    {
      enroll_form_clear (&form);
      reply_text (msg, SOUP_STATUS_FORBIDDEN, token);
      return;
    }
  enroll_form_clear (&form);
  es->issued++;
  g_message ("issued a certificate for %s", parsed && parsed->user_name ? parsed->user_name : "?");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/pkix-cert", SOUP_MEMORY_COPY,
                                    (const char *)der, len);
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

/* TLS handshakes run in GLib's worker threads, which then idle with
 * glib-networking's GnuTLS module in their dynamic TLS.  LeakSanitizer's
 * exit-time scan of such a thread's DTLS faults (its tracer dies with
 * SIGSEGV and the process aborts), so the idle workers end before exit. */
static void
stop_idle_threads (void)
{
  /* A worker of a shared pool waits up to half a second for more work of
   * its own pool before it counts as unused; then it can be stopped. */
  g_thread_pool_set_max_unused_threads (0);
  for (int i = 0; i < 40; i++)
    {
      g_thread_pool_stop_unused_threads ();
      g_usleep (50 * 1000);
    }
}

int
disco_tool_cmd_enroll_server (int argc, char **argv)
{
  g_autofree char *listen = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *overlay = NULL;
  g_autofree char *domain = NULL;
  gint max_node_ids = 4;
  g_autofree char *users_file = NULL;
  GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "HTTPS address (default 127.0.0.1:0)",
      "ADDR:PORT" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "CA and HTTPS keys (required)", "DIR" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Overlay document to start from (default: embedded)", "FILE" },
    { "overlay", 'o', 0, G_OPTION_ARG_STRING, &overlay, "Overlay instance name", "NAME" },
    { "domain", 0, 0, G_OPTION_ARG_STRING, &domain, "Only issue user names in this domain",
      "DOMAIN" },
    { "max-node-ids", 0, 0, G_OPTION_ARG_INT, &max_node_ids, "Most Node-IDs per certificate", "N" },
    { "users", 0, 0, G_OPTION_ARG_FILENAME, &users_file,
      "Require username/password from this file of user:password lines", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run a RELOAD enrollment server");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco enroll-server: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (data_dir == NULL)
    {
      g_printerr ("disco enroll-server: --data-dir is required\n");
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (GInetSocketAddress) addr
      = disco_tool_parse_address (listen ? listen : "127.0.0.1:0", &error);
  if (addr == NULL)
    {
      g_printerr ("disco enroll-server: --listen: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      g_printerr ("disco enroll-server: cannot create %s\n", data_dir);
      return 1;
    }

  g_autoptr (DiscoReloadConfig) config
      = config_path ? disco_reload_config_load_file (config_path, NULL, &error)
                    : disco_reload_config_new_default ();
  if (config == NULL)
    {
      g_printerr ("disco enroll-server: %s\n", error->message);
      return 1;
    }
  if (overlay)
    disco_reload_config_set_instance_name (config, overlay);

  /* The CA: reuse the one in the data dir, else make and keep one. */
  g_autofree char *ca_file = g_build_filename (data_dir, "ca-cert.pem", NULL);
  g_autoptr (DiscoReloadCa) ca = NULL;
  if (g_file_test (ca_file, G_FILE_TEST_EXISTS))
    ca = disco_reload_ca_load (data_dir, &error);
  else
    {
      g_autofree char *cn = g_strdup_printf ("%s enrollment CA", config->instance_name);
      ca = disco_reload_ca_new (cn, 0, 0, &error);
      if (ca && !disco_reload_ca_save (ca, data_dir, &error))
        g_clear_pointer (&ca, disco_reload_ca_free);
    }
  if (ca == NULL)
    {
      g_printerr ("disco enroll-server: %s\n", error->message);
      return 1;
    }
  if (domain)
    disco_reload_ca_set_domain (ca, domain);

  g_autofree char *abs_dir = g_canonicalize_filename (data_dir, NULL);
  g_autofree char *https_cert = g_build_filename (abs_dir, "https-cert.pem", NULL);
  g_autofree char *https_key = g_build_filename (data_dir, "https-key.pem", NULL);
  if (!g_file_test (https_cert, G_FILE_TEST_EXISTS)
      && !make_https_cert (https_cert, https_key, config->instance_name,
                           g_inet_socket_address_get_address (addr), &error))
    {
      g_printerr ("disco enroll-server: %s\n", error->message);
      return 1;
    }
  g_autoptr (GTlsCertificate) tls
      = g_tls_certificate_new_from_files (https_cert, https_key, &error);
  if (tls == NULL)
    {
      g_printerr ("disco enroll-server: %s\n", error->message);
      return 1;
    }

  EnrollServer es
      = { .ca = ca, .max_node_ids = (guint)CLAMP (max_node_ids, 1, DISCO_RELOAD_MAX_NODE_IDS) };
  es.overlay = config->instance_name;
  g_autoptr (GHashTable) users = NULL;
  if (users_file)
    {
      g_autofree char *text = NULL;
      if (!g_file_get_contents (users_file, &text, NULL, &error))
        {
          g_printerr ("disco enroll-server: --users: %s\n", error->message);
          return 1;
        }
      users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (char **l = lines; *l; l++)
        {
          char *colon = strchr (*l, ':');
          if (**l == '#' || colon == NULL)
            continue;
          g_hash_table_replace (users, g_strndup (*l, colon - *l), g_strdup (colon + 1));
        }
      es.users = users;
    }
  g_autoptr (SoupServer) server = soup_server_new ("tls-certificate", tls, NULL);
  soup_server_add_handler (server, CONFIG_PATH, on_config, &es, NULL);
  soup_server_add_handler (server, ENROLL_PATH, on_enroll, &es, NULL);
  if (!soup_server_listen (server, G_SOCKET_ADDRESS (addr), SOUP_SERVER_LISTEN_HTTPS, &error))
    {
      g_printerr ("disco enroll-server: %s\n", error->message);
      return 1;
    }
  GSList *uris = soup_server_get_uris (server);
  GUri *uri = uris ? uris->data : NULL;
  guint port = uri ? (guint)g_uri_get_port (uri) : 0;
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (addr));
  g_autofree char *base = g_strdup_printf ("https://%s:%u", ip, port);

  /* The document this server hands out: the CA is the only trust anchor,
   * this server is the enrollment server, no self-signed certificates. */
  config->self_signed_permitted = FALSE;
  g_ptr_array_set_size (config->root_certs, 0);
  g_ptr_array_add (config->root_certs, g_bytes_ref (disco_reload_ca_get_cert (ca)->der));
  g_ptr_array_set_size (config->enrollment_servers, 0);
  g_ptr_array_add (config->enrollment_servers, g_strconcat (base, ENROLL_PATH, NULL));
  g_clear_pointer (&config->signature, g_free);
  g_clear_pointer (&config->configuration_xml, g_bytes_unref);
  es.config_xml = disco_reload_config_to_xml (config, &es.config_len);

  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, loop);
  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);
  g_print ("ready enroll=%s:%u url=%s%s config-url=%s%s ca-file=%s instance=%s pid=%d\n", ip, port,
           base, ENROLL_PATH, base, CONFIG_PATH, https_cert, config->instance_name, (int)getpid ());
  fflush (stdout);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  soup_server_disconnect (server);
  g_free (es.config_xml);
  g_message ("enrollment server stopped after %u certificates", es.issued);
  stop_idle_threads ();
  return 0;
}

/* ---- client -------------------------------------------------------------------- */

static GBytes *
http_call (SoupSession *session, SoupMessage *msg, const char *what, GError **error)
{
  g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, NULL, error);
  if (body == NULL)
    {
      g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  guint status = soup_message_get_status (msg);
  if (status != SOUP_STATUS_OK)
    {
      gsize len;
      const char *d = g_bytes_get_data (body, &len);
      g_autofree char *text = g_utf8_make_valid (d, (gssize)MIN (len, 200));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: HTTP %u %s", what, status,
                   g_strstrip (text));
      return NULL;
    }
  return g_steal_pointer (&body);
}

int
disco_tool_cmd_enroll (int argc, char **argv)
{
  g_autofree char *server_url = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *user = NULL;
  g_autofree char *overlay = NULL;
  gint node_ids = 1;
  gboolean as_json = FALSE;
  g_autofree char *password = NULL;
  GOptionEntry entries[]
      = { { "server", 's', 0, G_OPTION_ARG_STRING, &server_url,
            "Configuration server, e.g. https://127.0.0.1:8443 (required)", "URL" },
          { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, "Trust this PEM for HTTPS (required)",
            "FILE" },
          { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
            "Where to save the identity (required)", "DIR" },
          { "user", 'u', 0, G_OPTION_ARG_STRING, &user,
            "User name, e.g. alice@example.org (required)", "NAME" },
          { "overlay", 'o', 0, G_OPTION_ARG_STRING, &overlay, "Expected overlay instance name",
            "NAME" },
          { "node-ids", 0, 0, G_OPTION_ARG_INT, &node_ids, "Number of Node-IDs to ask for", "N" },
          { "password", 0, 0, G_OPTION_ARG_STRING, &password,
            "Password for the enrollment server (sent with --user as username)", "TEXT" },
          { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL },
          { NULL } };
  g_autoptr (GOptionContext) ctx
      = g_option_context_new ("- enroll with a RELOAD enrollment server");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco enroll: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (!server_url || !ca_file || !data_dir || !user)
    {
      g_printerr ("disco enroll: --server, --ca-file, --data-dir and --user are required\n");
      return DISCO_TOOL_EXIT_USAGE;
    }

  g_autofree char *ca_abs = g_canonicalize_filename (ca_file, NULL); /* GTlsFileDatabase wants it */
  g_autoptr (GTlsDatabase) db = g_tls_file_database_new (ca_abs, &error);
  if (db == NULL)
    {
      g_printerr ("disco enroll: --ca-file: %s\n", error->message);
      return 1;
    }
  g_autoptr (SoupSession) session
      = soup_session_new_with_options ("tls-database", db, "timeout", 20, NULL);

  /* 1. The overlay configuration document. */
  g_autofree char *config_url = g_strconcat (server_url, CONFIG_PATH, NULL);
  g_autoptr (SoupMessage) get = soup_message_new ("GET", config_url);
  if (get == NULL)
    {
      g_printerr ("disco enroll: bad URL %s\n", server_url);
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (GBytes) doc = http_call (session, get, "configuration", &error);
  if (doc == NULL)
    {
      g_printerr ("disco enroll: %s\n", error->message);
      return 1;
    }
  gsize doc_len;
  const char *doc_data = g_bytes_get_data (doc, &doc_len);
  g_autoptr (DiscoReloadConfig) config
      = disco_reload_config_parse (doc_data, doc_len, overlay, config_url, &error);
  if (config == NULL)
    {
      g_printerr ("disco enroll: %s\n", error->message);
      return 1;
    }
  if (overlay && g_strcmp0 (config->instance_name, overlay) != 0)
    {
      g_printerr ("disco enroll: the server serves overlay %s, not %s\n", config->instance_name,
                  overlay);
      return 1;
    }
  const char *enroll_url
      = config->enrollment_servers->len ? config->enrollment_servers->pdata[0] : NULL;
  if (enroll_url == NULL)
    {
      g_printerr ("disco enroll: overlay %s names no enrollment server\n", config->instance_name);
      return 1;
    }

  /* 2. A key and a CSR, posted as the RFC's multipart form. */
  EVP_PKEY *key = disco_reload_key_generate (0, &error);
  if (key == NULL)
    {
      g_printerr ("disco enroll: %s\n", error->message);
      return 1;
    }
  g_autoptr (GBytes) csr = disco_reload_csr_new (key, user, &error);
  if (csr == NULL)
    {
      EVP_PKEY_free (key);
      g_printerr ("disco enroll: %s\n", error->message);
      return 1;
    }
  g_autoptr (SoupMultipart) form = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  soup_multipart_append_form_file (form, "csr", "request.p10", "application/pkcs10", csr);
  if (password)
    {
      soup_multipart_append_form_string (form, "username", user);
      soup_multipart_append_form_string (form, "password", password);
    }
  if (node_ids > 1)
    {
      g_autofree char *n = g_strdup_printf ("%d", node_ids);
      soup_multipart_append_form_string (form, "nodeids", n);
    }
  g_autoptr (SoupMessage) post = soup_message_new_from_multipart (enroll_url, form);
  if (post == NULL)
    {
      EVP_PKEY_free (key);
      g_printerr ("disco enroll: bad enrollment URL %s\n", enroll_url);
      return 1;
    }
  soup_message_headers_replace (soup_message_get_request_headers (post), "Accept",
                                "application/pkix-cert");
  g_autoptr (GBytes) der = http_call (session, post, "enrollment", &error);
  if (der == NULL)
    {
      EVP_PKEY_free (key);
      g_printerr ("disco enroll: %s\n", error->message);
      return 1;
    }

  /* 3. The certificate must fit our key and chain to the overlay's root. */
  g_autoptr (DiscoReloadIdentity) id = disco_reload_identity_new (key, der, NULL, &error);
  EVP_PKEY_free (key);
  g_autoptr (DiscoReloadTrust) trust = id ? disco_reload_trust_new (config, &error) : NULL;
  if (id == NULL || trust == NULL
      || !disco_reload_trust_verify_cert (trust, id->cert, NULL, &error))
    {
      g_printerr ("disco enroll: the issued certificate is not acceptable: %s\n", error->message);
      return 1;
    }

  /* 4. Save identity and configuration. */
  g_autofree char *config_file
      = g_build_filename (data_dir, DISCO_RELOAD_PROFILE_CONFIG_FILE, NULL);
  if (!disco_reload_identity_save (id, data_dir, &error)
      || !g_file_set_contents (config_file, doc_data, (gssize)doc_len, &error))
    {
      g_printerr ("disco enroll: %s\n", error->message);
      return 1;
    }
  g_autofree char *hex = disco_reload_node_id_to_hex (disco_reload_identity_get_node_id (id));
  if (as_json)
    {
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "ok", json_object_new_boolean (TRUE));
      json_object_object_add (o, "user",
                              json_object_new_string (disco_reload_identity_get_user_name (id)));
      json_object_object_add (o, "node_id", json_object_new_string (hex));
      json_object_object_add (o, "overlay", json_object_new_string (config->instance_name));
      json_object_object_add (o, "data_dir", json_object_new_string (data_dir));
      g_print ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY));
      json_object_put (o);
    }
  else
    g_print ("enrolled %s in %s as Node-ID %s (saved in %s)\n",
             disco_reload_identity_get_user_name (id), config->instance_name, hex, data_dir);
  return 0;
}
