/* Unit tests for the disco-focus configuration layer. */
#include "focus-config.h"

static void
test_defaults (void)
{
  g_autoptr (DiscoFocusConfig) c = disco_focus_config_new_default ();
  g_autofree char *sip = disco_address_to_string (c->sip_listen);
  g_autofree char *http = disco_address_to_string (c->http_listen);

  g_assert_cmpstr (sip, ==, "127.0.0.1:5060");
  g_assert_cmpstr (http, ==, "127.0.0.1:8080");
  g_assert_cmpuint (c->max_participants, >, 0);
}

static void
test_address_parse (void)
{
  struct
  {
    const char *in, *out;
  } good[] = {
    { "127.0.0.1:0", "127.0.0.1:0" },
    { "0.0.0.0:65535", "0.0.0.0:65535" },
    { "[::1]:5060", "[::1]:5060" },
  };
  const char *bad[] = { "",         "127.0.0.1", "localhost:80", "127.0.0.1:65536", "127.0.0.1:-1",
                        "::1:5060", "[::1]5060", "1.2.3.4:80x",  "300.1.1.1:1" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetSocketAddress) a = disco_address_parse (good[i].in, &error);
      g_assert_no_error (error);
      g_autofree char *s = disco_address_to_string (a);
      g_assert_cmpstr (s, ==, good[i].out);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetSocketAddress) a = disco_address_parse (bad[i], &error);
      g_assert_null (a);
      g_assert_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE);
    }
}

static void
test_load_good (void)
{
  const char *text = "# a comment\n"
                     "[focus]\n"
                     "name = alpha\n"
                     "conferences = sip:a@127.0.0.1, sip:b@127.0.0.1\n"
                     "\n"
                     "[sip]\nlisten = 127.0.0.1:0\n"
                     "[http]\nlisten=[::1]:0\n"
                     "[overlay]\nbootstrap = 127.0.0.1:7000,127.0.0.1:7001\n"
                     "[media]\nmax-participants = 42\n";
  g_autoptr (DiscoFocusConfig) c = disco_focus_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (disco_focus_config_load_data (c, text, strlen (text), "t.conf", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "alpha");
  g_assert_cmpuint (g_strv_length (c->conferences), ==, 2);
  g_assert_cmpstr (c->conferences[1], ==, "sip:b@127.0.0.1");
  g_assert_cmpuint (g_strv_length (c->bootstrap), ==, 2);
  g_assert_cmpuint (c->max_participants, ==, 42);
  g_assert_cmpuint (g_inet_socket_address_get_port (c->sip_listen), ==, 0);
}

/* Each broken file must produce a message naming the file, line and key. */
static void
test_load_bad (void)
{
  struct
  {
    const char *text;
    const char *expect;
  } cases[] = {
    { "[sip]\nlisten = nowhere\n", "t.conf:2: key 'listen' in [sip]" },
    { "[sip]\n\nlisten = 127.0.0.1:99999\n", "t.conf:3: key 'listen' in [sip]" },
    { "[http]\nlsten = 127.0.0.1:1\n", "t.conf:2: unknown key 'lsten' in [http]" },
    { "[nope]\n", "t.conf:1: unknown group [nope]" },
    { "name = x\n", "t.conf:1: key 'name' appears before any [group]" },
    { "[focus]\njust words\n", "t.conf:2: expected 'key = value'" },
    { "[focus\n", "t.conf:1: malformed group header" },
    { "[media]\nmax-participants = lots\n", "t.conf:2: key 'max-participants' in [media]" },
    { "[media]\nmax-participants = 0\n", "t.conf:2: key 'max-participants'" },
    { "[focus]\nconferences = mailto:x@y\n", "t.conf:2: key 'conferences' in [focus]" },
    { "[overlay]\nbootstrap = 127.0.0.1:1, bad\n", "t.conf:2: key 'bootstrap' in [overlay]" },
    { "[focus]\nname =\n", "t.conf:2: key 'name' in [focus]: value must not be empty" },
    { "[focus]\nname = \xff\xfe\n", "t.conf: file is not valid UTF-8" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DiscoFocusConfig) c = disco_focus_config_new_default ();
      g_autoptr (GError) error = NULL;
      g_test_message ("case %zu: %s", i, cases[i].text);
      g_assert_false (disco_focus_config_load_data (c, cases[i].text, strlen (cases[i].text),
                                                    "t.conf", &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == DISCO_CONFIG_ERROR);
      if (strstr (error->message, cases[i].expect) == NULL)
        g_error ("case %zu: '%s' does not contain '%s'", i, error->message, cases[i].expect);
    }
}

static void
test_flag_override (void)
{
  g_autoptr (DiscoFocusConfig) c = disco_focus_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (
      disco_focus_config_set (c, "http", "listen", "127.0.0.1:9", "--http-listen", &error));
  g_assert_cmpuint (g_inet_socket_address_get_port (c->http_listen), ==, 9);
  g_assert_false (disco_focus_config_set (c, "http", "listen", "x", "--http-listen", &error));
  g_assert_nonnull (strstr (error->message, "--http-listen"));
  /* A failed set leaves the previous value. */
  g_assert_cmpuint (g_inet_socket_address_get_port (c->http_listen), ==, 9);
}

/* The example shipped in docs/ must stay loadable. */
static void
test_example_file (void)
{
  g_autofree char *path
      = g_build_filename (g_getenv ("DISCO_SOURCE_DIR"), "docs", "disco-focus.conf.example", NULL);
  g_autoptr (DiscoFocusConfig) c = disco_focus_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_true (disco_focus_config_load_file (c, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "focus-1");
  g_assert_cmpstr (c->source, ==, path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/address-parse", test_address_parse);
  g_test_add_func ("/config/load-good", test_load_good);
  g_test_add_func ("/config/load-bad", test_load_bad);
  g_test_add_func ("/config/flag-override", test_flag_override);
  g_test_add_func ("/config/example-file", test_example_file);
  return g_test_run ();
}
