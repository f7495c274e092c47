/* test-sip-events.c: the RFC 4575 conference event package of a real
 * disco-focus, watched by a sipp subscriber: 200 to SUBSCRIBE, a full
 * document, version+1 partial documents as a caller joins and leaves, the
 * terminating NOTIFY.  Every NOTIFY body is then validated against the
 * RFC 4575 + DisCo schemas and replayed through the §4.6 merge. */
#include <gst/gst.h>
#include <libxml/xmlschemas.h>
#include <string.h>

#include "conference-info.h"
#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"

static gboolean
has_subscription (gpointer data)
{
  g_autoptr (json_object) st = sip_test_status (data);
  json_object *conf = sip_test_status_conference (st, CONF), *subs = NULL;
  return conf && json_object_object_get_ex (conf, "subscriptions", &subs)
         && json_object_array_length (subs) == 1;
}

/* NOTIFY bodies, in order, from sipp's -trace_msg log. */
static GPtrArray *
notify_bodies (const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      if (!g_str_has_suffix (name, "_messages.log"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_auto (GStrv) chunks
          = g_strsplit (text, "\n-----------------------------------------------", -1);
      for (char **c = chunks; *c; c++)
        {
          if (!strstr (*c, "message received"))
            continue;
          char *start = strstr (*c, "\nNOTIFY ");
          if (start == NULL)
            continue;
          char *body = strstr (start, "\n\n");
          char *body_crlf = strstr (start, "\r\n\r\n");
          if (body_crlf && (body == NULL || body_crlf < body))
            body = body_crlf + 4;
          else if (body)
            body += 2;
          if (body && strstr (body, "<conference-info"))
            g_ptr_array_add (out, g_strstrip (g_strdup (body)));
        }
    }
  return out;
}

static xmlSchemaPtr
load_schema (void)
{
  g_autofree char *xsd = g_build_filename (g_getenv ("DISCO_SOURCE_DIR"), "tests", "sip",
                                           "conference-info-disco.xsd", NULL);
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt (xsd);
  xmlSchemaPtr schema = xmlSchemaParse (pc);
  xmlSchemaFreeParserCtxt (pc);
  g_assert_nonnull (schema);
  return schema;
}

/* Every body must be valid RFC 4575 + DisCo extension. */
static void
validate_all (GPtrArray *bodies)
{
  xmlSchemaPtr schema = load_schema ();
  for (guint i = 0; i < bodies->len; i++)
    {
      g_autoptr (GError) error = NULL;
      const char *body = g_ptr_array_index (bodies, i);
      xmlDoc *doc = disco_ci_parse (body, strlen (body), &error);
      g_assert_no_error (error);
      xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt (schema);
      int rc = xmlSchemaValidateDoc (vc, doc);
      xmlSchemaFreeValidCtxt (vc);
      if (rc != 0)
        g_test_message ("invalid document %u:\n%s", i, body);
      g_assert_cmpint (rc, ==, 0);
      xmlFreeDoc (doc);
    }
  xmlSchemaFree (schema);
}

static void
test_subscriber_sees_join_and_leave (void)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  const char *sub_args[] = { "-s", "conf", "-m", "1", "-trace_msg", NULL };
  g_autoptr (SipTestSipp) watcher = sip_test_sipp_start (d->sip, "subscriber.xml", 60, 0, sub_args);
  g_assert_true (sip_test_wait_until (has_subscription, d, 10000));

  const char *call[] = { "-s", "conf", "-m", "1", "-d", "1500", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "uac-pcmu.xml", 30, 440, call), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (watcher, 60000), ==, 0);

  /* Schema-check and merge what the watcher received. */
  g_autoptr (GPtrArray) bodies = notify_bodies (watcher->dir);
  g_assert_cmpuint (bodies->len, >=, 3);
  validate_all (bodies);
  xmlSchemaPtr schema = load_schema ();
  xmlDoc *view = NULL;
  static const DiscoCiMergeResult expect[]
      = { DISCO_CI_MERGE_REPLACED, DISCO_CI_MERGE_APPLIED, DISCO_CI_MERGE_APPLIED };
  for (guint i = 0; i < 3; i++)
    {
      const char *body = g_ptr_array_index (bodies, i);
      xmlDoc *doc = disco_ci_parse (body, strlen (body), &error);
      g_assert_no_error (error);
      xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt (schema);
      int rc = xmlSchemaValidateDoc (vc, doc);
      xmlSchemaFreeValidCtxt (vc);
      if (rc != 0)
        g_test_message ("invalid document:\n%s", body);
      g_assert_cmpint (rc, ==, 0);
      g_assert_cmpuint (disco_ci_version (doc), ==, i + 1);
      g_assert_cmpint (disco_ci_merge (&view, doc, &error), ==, expect[i]);
      g_assert_no_error (error);
      if (i == 1)
        {
          /* The joined caller, with its dialog and our DisCo extension. */
          g_assert_nonnull (strstr (body, "<dc:served-by>sip:127.0.0.1:"));
          g_assert_nonnull (strstr (body, "<dc:codec>PCMU</dc:codec>"));
          g_assert_nonnull (strstr (body, "<joining-method>dialed-in</joining-method>"));
          g_assert_nonnull (strstr (body, "<type>audio</type>"));
          g_assert_nonnull (strstr (body, "<dc:foci>"));
        }
      xmlFreeDoc (doc);
    }
  xmlNode *users = disco_ci_find (xmlDocGetRootElement (view), DISCO_CI_NS, "users");
  g_assert_null (disco_ci_find (users, DISCO_CI_NS, "user"));
  xmlFreeDoc (view);
  xmlSchemaFree (schema);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

/* The conference ends with the daemon: a final state="deleted" NOTIFY. */
static void
test_conference_end (void)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);
  const char *sub_args[] = { "-s", "conf", "-m", "1", "-trace_msg", NULL };
  g_autoptr (SipTestSipp) watcher
      = sip_test_sipp_start (d->sip, "subscriber-end.xml", 60, 0, sub_args);
  g_assert_true (sip_test_wait_until (has_subscription, d, 10000));
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (watcher, 30000), ==, 0);
  /* full, partial (leaving), deleted: all valid, the last one empty. */
  g_autoptr (GPtrArray) bodies = notify_bodies (watcher->dir);
  g_assert_cmpuint (bodies->len, ==, 3);
  validate_all (bodies);
  g_assert_nonnull (strstr (g_ptr_array_index (bodies, 1), "state=\"leaving\""));
  g_assert_nonnull (strstr (g_ptr_array_index (bodies, 2), "state=\"deleted\""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/events/join-leave", test_subscriber_sees_join_and_leave);
  g_test_add_func ("/sip/events/conference-end", test_conference_end);
  return g_test_run ();
}
