/* focus-config.c: defaults, key-file loading and validation for disco-focus. */
#define G_LOG_DOMAIN "disco-config"

#include "focus-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (disco - config - error - quark, disco_config_error)

typedef enum
{
  KEY_STRING,
  KEY_PATH,
  KEY_ADDRESS,
  KEY_UINT,
  KEY_STRING_LIST,
} KeyType;

typedef struct
{
  const char *group;
  const char *key;
  KeyType type;
  guint min, max; /* for KEY_UINT */
} KeySpec;

/* The schema of the key file.  Later features add rows here. */
static const KeySpec key_specs[] = {
  { "focus", "name", KEY_STRING, 0, 0 },
  { "focus", "data-dir", KEY_PATH, 0, 0 },
  { "focus", "conferences", KEY_STRING_LIST, 0, 0 },
  { "focus", "peers", KEY_STRING_LIST, 0, 0 },
  { "sip", "listen", KEY_ADDRESS, 0, 0 },
  { "sip", "max-join-rate", KEY_UINT, 0, 1000000 },
  { "http", "listen", KEY_ADDRESS, 0, 0 },
  { "overlay", "listen", KEY_ADDRESS, 0, 0 },
  { "overlay", "config", KEY_PATH, 0, 0 },
  { "overlay", "bootstrap", KEY_STRING_LIST, 0, 0 },
  { "media", "rtp-address", KEY_STRING, 0, 0 },
  { "media", "max-participants", KEY_UINT, 1, 100000 },
};

static const KeySpec *
find_spec (const char *group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (key_specs); i++)
    if (g_str_equal (key_specs[i].group, group) && (!key || g_str_equal (key_specs[i].key, key)))
      return &key_specs[i];
  return NULL;
}

GInetSocketAddress *
disco_address_parse (const char *text, GError **error)
{
  g_autofree char *host = NULL;
  const char *port_str;

  if (text == NULL || *text == '\0')
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                   "empty address (expected ADDR:PORT)");
      return NULL;
    }
  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');
      if (end == NULL || end[1] != ':')
        {
          g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                       "invalid address '%s' (expected [V6ADDR]:PORT)", text);
          return NULL;
        }
      host = g_strndup (text + 1, end - text - 1);
      port_str = end + 2;
    }
  else
    {
      const char *colon = strrchr (text, ':');
      if (colon == NULL || strchr (text, ':') != colon)
        {
          g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                       "invalid address '%s' (expected ADDR:PORT)", text);
          return NULL;
        }
      host = g_strndup (text, colon - text);
      port_str = colon + 1;
    }

  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (host);
  if (inet == NULL)
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                   "invalid address '%s': '%s' is not a numeric IP address", text, host);
      return NULL;
    }

  guint64 port;
  if (!g_ascii_string_to_unsigned (port_str, 10, 0, 65535, &port, NULL))
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                   "invalid address '%s': port '%s' is not a number from 0 to 65535", text,
                   port_str);
      return NULL;
    }
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (inet, (guint16)port));
}

char *
disco_address_to_string (GInetSocketAddress *addr)
{
  g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (addr));
  guint port = g_inet_socket_address_get_port (addr);

  if (g_inet_address_get_family (g_inet_socket_address_get_address (addr)) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

DiscoFocusConfig *
disco_focus_config_new_default (void)
{
  DiscoFocusConfig *c = g_new0 (DiscoFocusConfig, 1);

  c->name = g_strdup ("disco-focus");
  c->data_dir = g_build_filename (g_get_user_data_dir (), "disco", NULL);
  c->sip_listen = disco_address_parse ("127.0.0.1:5060", NULL);
  c->http_listen = disco_address_parse ("127.0.0.1:8080", NULL);
  c->overlay_listen = disco_address_parse ("127.0.0.1:6084", NULL);
  c->rtp_address = g_strdup ("127.0.0.1");
  c->max_participants = 500;
  c->max_join_rate = 1000;
  c->conferences = g_new0 (char *, 2);
  c->conferences[0] = g_strdup ("sip:conference@127.0.0.1");
  return c;
}

void
disco_focus_config_free (DiscoFocusConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->name);
  g_free (c->data_dir);
  g_free (c->source);
  g_clear_object (&c->sip_listen);
  g_clear_object (&c->http_listen);
  g_clear_object (&c->overlay_listen);
  g_free (c->overlay_config);
  g_strfreev (c->bootstrap);
  g_free (c->rtp_address);
  g_strfreev (c->conferences);
  g_strfreev (c->peers);
  g_free (c);
}

static GInetSocketAddress **
address_slot (DiscoFocusConfig *c, const char *group)
{
  if (g_str_equal (group, "sip"))
    return &c->sip_listen;
  if (g_str_equal (group, "http"))
    return &c->http_listen;
  return &c->overlay_listen;
}

static char **
string_slot (DiscoFocusConfig *c, const char *group, const char *key)
{
  if (g_str_equal (key, "name"))
    return &c->name;
  if (g_str_equal (key, "data-dir"))
    return &c->data_dir;
  if (g_str_equal (key, "config"))
    return &c->overlay_config;
  if (g_str_equal (key, "rtp-address"))
    return &c->rtp_address;
  g_assert_not_reached ();
}

static guint *
uint_slot (DiscoFocusConfig *c, const char *key)
{
  if (g_str_equal (key, "max-join-rate"))
    return &c->max_join_rate;
  g_assert (g_str_equal (key, "max-participants"));
  return &c->max_participants;
}

static char ***
list_slot (DiscoFocusConfig *c, const char *key)
{
  if (g_str_equal (key, "conferences"))
    return &c->conferences;
  if (g_str_equal (key, "peers"))
    return &c->peers;
  return &c->bootstrap;
}

/* Splits "a, b ,c" into a vector of trimmed, non-empty items. */
static char **
split_list (const char *value)
{
  g_auto (GStrv) parts = g_strsplit_set (value, ",;", -1);
  GPtrArray *out = g_ptr_array_new ();
  for (char **p = parts; *p; p++)
    {
      char *item = g_strstrip (*p);
      if (*item)
        g_ptr_array_add (out, g_strdup (item));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

gboolean
disco_focus_config_set (DiscoFocusConfig *c, const char *group, const char *key, const char *value,
                        const char *origin, GError **error)
{
  const KeySpec *spec = find_spec (group, key);
  g_autoptr (GError) local = NULL;

  if (spec == NULL)
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_UNKNOWN_KEY,
                   "%s: unknown key '%s' in [%s]", origin, key, group);
      return FALSE;
    }

  switch (spec->type)
    {
      case KEY_ADDRESS:
        {
          GInetSocketAddress *addr = disco_address_parse (value, &local);
          if (addr == NULL)
            break;
          GInetSocketAddress **slot = address_slot (c, group);
          g_clear_object (slot);
          *slot = addr;
          return TRUE;
        }
      case KEY_UINT:
        {
          guint64 v;
          if (!g_ascii_string_to_unsigned (value, 10, spec->min, spec->max, &v, NULL))
            {
              g_set_error (&local, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                           "'%s' is not a whole number from %u to %u", value, spec->min, spec->max);
              break;
            }
          *uint_slot (c, key) = (guint)v;
          return TRUE;
        }
      case KEY_STRING:
      case KEY_PATH:
        {
          if (*value == '\0')
            {
              g_set_error (&local, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                           "value must not be empty");
              break;
            }
          if (spec->type == KEY_STRING && g_str_equal (key, "rtp-address"))
            {
              g_autoptr (GInetAddress) a = g_inet_address_new_from_string (value);
              if (a == NULL)
                {
                  g_set_error (&local, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                               "'%s' is not a numeric IP address", value);
                  break;
                }
            }
          char **slot = string_slot (c, group, key);
          g_free (*slot);
          *slot = g_strdup (value);
          return TRUE;
        }
      case KEY_STRING_LIST:
        {
          g_auto (GStrv) items = split_list (value);
          if (g_str_equal (key, "bootstrap"))
            {
              for (char **p = items; *p; p++)
                {
                  g_autoptr (GInetSocketAddress) a = disco_address_parse (*p, &local);
                  if (a == NULL)
                    break;
                }
              if (local)
                break;
            }
          else
            {
              for (char **p = items; *p; p++)
                if (!g_str_has_prefix (*p, "sip:") && !g_str_has_prefix (*p, "sips:"))
                  {
                    g_set_error (&local, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                                 "'%s' is not a sip: or sips: URI", *p);
                    break;
                  }
              if (local)
                break;
            }
          char ***slot = list_slot (c, key);
          g_strfreev (*slot);
          *slot = g_steal_pointer (&items);
          return TRUE;
        }
    }

  g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
               "%s: key '%s' in [%s]: %s", origin, key, group, local->message);
  return FALSE;
}

/* GKeyFile reports neither line numbers nor unknown keys, so a first pass
 * checks the syntax line by line and remembers where each key sits. */
static gboolean
scan_lines (const char *data, gsize len, const char *origin, GHashTable *key_lines, GError **error)
{
  g_autofree char *copy = g_strndup (data, len);
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);
  g_autofree char *group = NULL;

  if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, len, NULL))
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_SYNTAX,
                   "%s: file is not valid UTF-8 text", origin);
      return FALSE;
    }

  for (guint i = 0; lines[i]; i++)
    {
      guint lineno = i + 1;
      char *line = g_strstrip (lines[i]);

      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[')
        {
          char *end = strchr (line, ']');
          if (end == NULL || end[1] != '\0' || end == line + 1)
            {
              g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_SYNTAX,
                           "%s:%u: malformed group header '%s'", origin, lineno, line);
              return FALSE;
            }
          g_free (group);
          group = g_strndup (line + 1, end - line - 1);
          if (find_spec (group, NULL) == NULL)
            {
              g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_UNKNOWN_KEY,
                           "%s:%u: unknown group [%s] (known: focus, sip, http, overlay, media)",
                           origin, lineno, group);
              return FALSE;
            }
          continue;
        }

      char *eq = strchr (line, '=');
      if (eq == NULL)
        {
          g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_SYNTAX,
                       "%s:%u: expected 'key = value', a [group] or a # comment, got '%s'", origin,
                       lineno, line);
          return FALSE;
        }
      g_autofree char *key = g_strstrip (g_strndup (line, eq - line));
      if (group == NULL)
        {
          g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_SYNTAX,
                       "%s:%u: key '%s' appears before any [group]", origin, lineno, key);
          return FALSE;
        }
      if (find_spec (group, key) == NULL)
        {
          g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_UNKNOWN_KEY,
                       "%s:%u: unknown key '%s' in [%s]", origin, lineno, key, group);
          return FALSE;
        }
      g_hash_table_insert (key_lines, g_strdup_printf ("%s/%s", group, key),
                           GUINT_TO_POINTER (lineno));
    }
  return TRUE;
}

gboolean
disco_focus_config_load_data (DiscoFocusConfig *c, const char *data, gsize len, const char *origin,
                              GError **error)
{
  g_autoptr (GHashTable) key_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  if (!scan_lines (data, len, origin, key_lines, error))
    return FALSE;

  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_SYNTAX, "%s: %s", origin,
                   local->message);
      return FALSE;
    }

  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (char **g = groups; *g; g++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (kf, *g, NULL, NULL);
      for (char **k = keys; k && *k; k++)
        {
          g_autofree char *lk = g_strdup_printf ("%s/%s", *g, *k);
          g_autofree char *where = g_strdup_printf (
              "%s:%u", origin, GPOINTER_TO_UINT (g_hash_table_lookup (key_lines, lk)));
          g_autofree char *value = g_key_file_get_string (kf, *g, *k, &local);
          if (value == NULL)
            {
              g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_INVALID_VALUE,
                           "%s: key '%s' in [%s]: %s", where, *k, *g, local->message);
              return FALSE;
            }
          if (!disco_focus_config_set (c, *g, *k, value, where, error))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
disco_focus_config_load_file (DiscoFocusConfig *c, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  if (len > 1024 * 1024)
    {
      g_set_error (error, DISCO_CONFIG_ERROR, DISCO_CONFIG_ERROR_SYNTAX,
                   "%s: file is larger than 1 MiB", path);
      return FALSE;
    }

  if (!disco_focus_config_load_data (c, data, len, path, error))
    return FALSE;
  g_free (c->source);
  c->source = g_strdup (path);
  return TRUE;
}
