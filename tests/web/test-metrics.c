/* Unit tests for the metrics writer, checked by the test suite's own parser. */
#include <math.h>
#include <string.h>

#include "disco-test.h"
#include "disco-web.h"

static void
test_render (void)
{
  g_autoptr (DiscoWebMetrics) m = disco_web_metrics_new ();
  const char *labels[] = { "type", "Store", "peer", "a\"b\\c\nd", NULL };
  const char *labels2[] = { "type", "Fetch", NULL };

  disco_web_metrics_add (m, "disco_messages_total", DISCO_WEB_METRIC_COUNTER,
                         "Messages.\nSecond line", labels, 3);
  disco_web_metrics_add (m, "disco_messages_total", DISCO_WEB_METRIC_COUNTER, "Messages.", labels2,
                         4);
  disco_web_metrics_add (m, "disco_ratio", DISCO_WEB_METRIC_GAUGE, "A ratio.", NULL, 0.25);
  disco_web_metrics_add (m, "disco_nan", DISCO_WEB_METRIC_GAUGE, "Not a number.", NULL, NAN);
  disco_web_metrics_add_process (m);
  g_autofree char *text = disco_web_metrics_render (m);

  g_test_message ("%s", text);
  g_autoptr (GHashTable) s = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *why = NULL;
  if (!disco_test_parse_metrics (text, s, &why))
    g_error ("%s", why);

  /* HELP and TYPE once per name, before its samples. */
  g_assert_nonnull (strstr (text, "# HELP disco_messages_total Messages.\\nSecond line\n"
                                  "# TYPE disco_messages_total counter\n"));
  const char *second = strstr (text, "# TYPE disco_messages_total");
  g_assert_null (strstr (second + 1, "# TYPE disco_messages_total"));
  g_assert_nonnull (strstr (text, "peer=\"a\\\"b\\\\c\\nd\""));
  double *v = g_hash_table_lookup (s, "disco_messages_total{type=\"Fetch\"}");
  g_assert_nonnull (v);
  g_assert_cmpfloat (*v, ==, 4);
  v = g_hash_table_lookup (s, "disco_ratio");
  g_assert_cmpfloat (*v, ==, 0.25);
  g_assert_true (g_hash_table_contains (s, "disco_process_cpu_seconds_total"));
  g_assert_true (g_hash_table_contains (s, "disco_process_open_fds"));
}

/* The parser that judges our output must itself reject malformed text. */
static void
test_parser_rejects (void)
{
  const char *bad[] = {
    "disco_x 1",                                    /* no trailing newline */
    "disco_x\n",                                    /* no value */
    "disco_x one\n",                                /* not a number */
    "9bad 1\n",                                     /* bad name */
    "disco_x{a=\"1\" 1\n",                          /* unterminated labels */
    "disco_x{a=1} 1\n",                             /* unquoted label */
    "# TYPE disco_x countr\ndisco_x 1\n",           /* bad type */
    "# TYPE disco_x gauge\n# TYPE disco_x gauge\n", /* duplicate TYPE */
    "disco_x 1\n\ndisco_y 2\n",                     /* blank line */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *why = NULL;
      g_assert_false (disco_test_parse_metrics (bad[i], NULL, &why));
      g_assert_nonnull (why);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/web/metrics/render", test_render);
  g_test_add_func ("/web/metrics/parser-rejects", test_parser_rejects);
  return g_test_run ();
}
