/* test-sip-coordinates.c: Vivaldi coordinates between two real disco-focus
 * daemons that know each other from [focus] peers.
 *
 * Each focus times OPTIONS round trips to the other and moves its own
 * coordinate (server/focus-coordinates.h).  Once both have applied samples,
 * a fetch of A's conference state (sipp, SUBSCRIBE Expires: 0) must carry
 * <dc:coordinates> for both foci, valid against the RFC 4575 + DisCo
 * schemas, decoding to finite coordinates that have left the start state
 * and predict a positive RTT between the two foci.  A peer publishing a
 * broken coordinate is refused and never measured. */
#include <libxml/xmlschemas.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "conference-info.h"
#include "disco-vivaldi.h"
#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"

/* The focus has applied samples from its peer (status overlay.coordinates). */
static gboolean
has_samples (gpointer data)
{
  g_autoptr (json_object) st = sip_test_status (data);
  json_object *overlay = NULL, *coords = NULL, *updates = NULL, *peers = NULL;
  return st && json_object_object_get_ex (st, "overlay", &overlay)
         && json_object_object_get_ex (overlay, "coordinates", &coords)
         && json_object_object_get_ex (coords, "updates", &updates)
         && json_object_get_int64 (updates) >= 3
         && json_object_object_get_ex (coords, "peers", &peers)
         && json_object_array_length (peers) == 1;
}

/* The NOTIFY body in sipp's -trace_msg log of @dir, or NULL. */
static char *
fetched_body (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      if (!g_str_has_suffix (name, "_messages.log"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      char *start = strstr (text, "\nNOTIFY ");
      char *body = start ? strstr (start, "<?xml") : NULL;
      char *end = body ? strstr (body, "</conference-info>") : NULL;
      if (end)
        return g_strndup (body, end - body + strlen ("</conference-info>"));
    }
  return NULL;
}

static char *
fetch (DiscoTestDaemon *d)
{
  const char *args[] = { "-s", "conf", "-m", "1", "-trace_msg", NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "fetch.xml", 20, 0, args);
  g_assert_cmpint (sip_test_sipp_wait (s, 30000), ==, 0);
  return fetched_body (s->dir);
}

static gboolean
focus_entry_present (xmlDoc *doc, const char *uri)
{
  xmlNode *foci = disco_ci_find (xmlDocGetRootElement (doc), DISCO_DC_NS, "foci");
  for (xmlNode *f = foci ? foci->children : NULL; f; f = f->next)
    {
      g_autofree char *u
          = f->type == XML_ELEMENT_NODE ? (char *)xmlGetProp (f, BAD_CAST "uri") : NULL;
      if (g_strcmp0 (u, uri) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
focus_coordinate (xmlDoc *doc, const char *uri, DiscoVivaldiCoord *out)
{
  xmlNode *foci = disco_ci_find (xmlDocGetRootElement (doc), DISCO_DC_NS, "foci");
  for (xmlNode *f = foci ? foci->children : NULL; f; f = f->next)
    {
      g_autofree char *u
          = f->type == XML_ELEMENT_NODE ? (char *)xmlGetProp (f, BAD_CAST "uri") : NULL;
      if (g_strcmp0 (u, uri) != 0)
        continue;
      xmlNode *c = disco_ci_find (f, DISCO_DC_NS, "coordinates");
      g_autofree char *type = c ? (char *)xmlGetProp (c, BAD_CAST "type") : NULL;
      g_autofree char *b64 = disco_ci_child_text (f, DISCO_DC_NS, "coordinates");
      if (b64 == NULL)
        return FALSE;
      g_assert_cmpstr (type, ==, "vivaldi");
      gsize len = 0;
      g_autofree guchar *raw = g_base64_decode (b64, &len);
      g_autoptr (GError) error = NULL;
      g_assert_true (disco_vivaldi_decode (raw, len, out, &error));
      g_assert_no_error (error);
      return TRUE;
    }
  return FALSE;
}

static void
validate (const char *body)
{
  g_autofree char *xsd = g_build_filename (g_getenv ("DISCO_SOURCE_DIR"), "tests", "sip",
                                           "conference-info-disco.xsd", NULL);
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt (xsd);
  xmlSchemaPtr schema = xmlSchemaParse (pc);
  xmlSchemaFreeParserCtxt (pc);
  g_assert_nonnull (schema);
  g_autoptr (GError) error = NULL;
  xmlDoc *doc = disco_ci_parse (body, strlen (body), &error);
  g_assert_no_error (error);
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt (schema);
  int rc = xmlSchemaValidateDoc (vc, doc);
  xmlSchemaFreeValidCtxt (vc);
  if (rc != 0)
    g_test_message ("invalid document:\n%s", body);
  g_assert_cmpint (rc, ==, 0);
  xmlFreeDoc (doc);
  xmlSchemaFree (schema);
}

static void
test_two_foci (void)
{
  g_autoptr (GError) error = NULL;
  const char *b_args[] = { "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) b = disco_test_daemon_spawn (b_args, &error);
  g_assert_no_error (error);

  g_autofree char *cfg = g_strdup_printf ("[focus]\npeers = sip:%s\n", b->sip);
  g_autofree char *cfg_path = sip_test_write_config (cfg);
  const char *a_args[] = { "--config", cfg_path, "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) a = disco_test_daemon_spawn (a_args, &error);
  g_assert_no_error (error);
  g_autofree char *a_uri = g_strdup_printf ("sip:%s", a->sip);
  g_autofree char *b_uri = g_strdup_printf ("sip:%s", b->sip);

  /* Both measure each other (B learnt A from A's focus subscription). */
  g_assert_true (sip_test_wait_until (has_samples, a, 60000));
  g_assert_true (sip_test_wait_until (has_samples, b, 60000));

  /* A's document carries both coordinates once B's moved one reached A. */
  gint64 deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
  DiscoVivaldiCoord ca, cb;
  g_autofree char *body = NULL;
  for (;;)
    {
      g_clear_pointer (&body, g_free);
      body = fetch (a);
      g_assert_nonnull (body);
      g_autoptr (GError) perr = NULL;
      xmlDoc *doc = disco_ci_parse (body, strlen (body), &perr);
      g_assert_no_error (perr);
      gboolean both = focus_coordinate (doc, a_uri, &ca) && focus_coordinate (doc, b_uri, &cb);
      xmlFreeDoc (doc);
      /* Below the start error: updated by samples, not the bootstrap value. */
      if (both && ca.error < DISCO_VIVALDI_MAX_ERROR && cb.error < DISCO_VIVALDI_MAX_ERROR)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (500 * 1000);
    }
  validate (body);
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    {
      g_assert_true (isfinite (ca.vec[i]));
      g_assert_true (isfinite (cb.vec[i]));
    }
  g_assert_true (isfinite (ca.height) && isfinite (cb.height));
  double predicted = disco_vivaldi_predict (&ca, &cb);
  g_test_message ("A (%.3f, %.3f, h %.3f, e %.2f), B (%.3f, %.3f, h %.3f, e %.2f): %.3f ms",
                  ca.vec[0], ca.vec[1], ca.height, ca.error, cb.vec[0], cb.vec[1], cb.height,
                  cb.error, predicted);
  g_assert_true (isfinite (predicted));
  g_assert_cmpfloat (predicted, >, 0.0);

  /* A's status reports the same peer with a prediction. */
  g_autoptr (json_object) st = sip_test_status (a);
  json_object *overlay = NULL, *coords = NULL, *peers = NULL, *uri = NULL, *pred = NULL;
  g_assert_true (json_object_object_get_ex (st, "overlay", &overlay));
  g_assert_true (json_object_object_get_ex (overlay, "coordinates", &coords));
  g_assert_true (json_object_object_get_ex (coords, "peers", &peers));
  json_object *p = json_object_array_get_idx (peers, 0);
  g_assert_true (json_object_object_get_ex (p, "uri", &uri));
  g_assert_cmpstr (json_object_get_string (uri), ==, b_uri);
  g_assert_true (json_object_object_get_ex (p, "predicted_ms", &pred));
  g_assert_cmpfloat (json_object_get_double (pred), >, 0.0);

  g_assert_cmpint (disco_test_daemon_stop (a, SIGTERM, 10000), ==, 0);
  g_assert_cmpint (disco_test_daemon_stop (b, SIGTERM, 10000), ==, 0);
  g_unlink (cfg_path);
}

static gint64
coordinates_field (DiscoTestDaemon *d, const char *field)
{
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *overlay = NULL, *coords = NULL, *v = NULL;
  if (st && json_object_object_get_ex (st, "overlay", &overlay)
      && json_object_object_get_ex (overlay, "coordinates", &coords)
      && json_object_object_get_ex (coords, field, &v))
    return json_object_get_int64 (v);
  return -1;
}

static gboolean
refused_twice (gpointer data)
{
  return coordinates_field (data, "remote_refused") >= 2;
}

/* A peer focus (sipp) publishing a NaN coordinate: refused on every round,
 * never pinged (the scenario fails on an OPTIONS), our own coordinate stays
 * at the start, and the focus keeps serving (valid documents, /healthz). */
static void
test_bad_peer_coordinate (void)
{
  g_autoptr (GError) error = NULL;
  const char *peer_args[] = { "-m", "1", NULL };
  g_autoptr (SipTestSipp) peer
      = sip_test_sipp_start ("", "fake-peer-bad-coords.xml", 90, 0, peer_args);
  g_autofree char *cfg = g_strdup_printf ("[focus]\npeers = sip:127.0.0.1:%u\n", peer->port);
  g_autofree char *cfg_path = sip_test_write_config (cfg);
  const char *args[] = { "--config", cfg_path, "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) a = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  g_assert_true (sip_test_wait_until (refused_twice, a, 60000));
  g_assert_cmpint (coordinates_field (a, "updates"), ==, 0);
  g_autofree char *a_uri = g_strdup_printf ("sip:%s", a->sip);
  g_autofree char *body = fetch (a);
  g_assert_nonnull (body);
  validate (body);
  g_autoptr (GError) perr = NULL;
  xmlDoc *doc = disco_ci_parse (body, strlen (body), &perr);
  g_assert_no_error (perr);
  DiscoVivaldiCoord ca;
  g_assert_true (focus_coordinate (doc, a_uri, &ca));
  /* The peer's entry is relayed, but without its NaN coordinates. */
  g_autofree char *peer_uri = g_strdup_printf ("sip:127.0.0.1:%u", peer->port);
  g_assert_true (focus_entry_present (doc, peer_uri));
  g_assert_false (focus_coordinate (doc, peer_uri, &ca));
  g_assert_true (focus_coordinate (doc, a_uri, &ca));
  xmlFreeDoc (doc);
  g_assert_cmpfloat (ca.error, ==, DISCO_VIVALDI_MAX_ERROR);
  g_autofree char *health = NULL;
  g_assert_cmpuint (disco_test_http (a->http, "GET", "/healthz", &health, NULL), ==, 200);

  g_assert_cmpint (disco_test_daemon_stop (a, SIGTERM, 10000), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (peer, 30000), ==, 0);
  g_unlink (cfg_path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sip/coordinates/two-foci", test_two_foci);
  g_test_add_func ("/sip/coordinates/bad-peer", test_bad_peer_coordinate);
  return g_test_run ();
}
