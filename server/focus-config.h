/* focus-config.h: the disco-focus configuration.
 *
 * A configuration is built in three layers: embedded defaults, then an
 * optional key file (--config), then command-line flags.  Every value is
 * validated when it is read; errors name the file, line and key (or the
 * flag) so that an operator can fix them without reading source.
 *
 * Ownership: DiscoFocusConfig owns every string and address in it; free it
 * with disco_focus_config_free().
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DISCO_CONFIG_ERROR (disco_config_error_quark ())
GQuark disco_config_error_quark (void);

typedef enum
{
  DISCO_CONFIG_ERROR_SYNTAX,
  DISCO_CONFIG_ERROR_UNKNOWN_KEY,
  DISCO_CONFIG_ERROR_INVALID_VALUE,
  DISCO_CONFIG_ERROR_IO,
} DiscoConfigError;

typedef struct
{
  char *name;     /* human-readable name of this focus peer */
  char *data_dir; /* certificates and state */
  char *source;   /* path of the key file, or NULL for embedded defaults */

  GInetSocketAddress *sip_listen;
  GInetSocketAddress *http_listen;
  GInetSocketAddress *overlay_listen;

  /* [overlay] */
  char *overlay_config; /* RFC 6940 overlay configuration document, or NULL */
  char **bootstrap;     /* ADDR:PORT list, NULL-terminated, may be NULL */

  /* [sip] max-join-rate: new calls admitted per second, 0 = no limit */
  guint max_join_rate;

  /* [media] */
  char *rtp_address; /* address media sockets bind to */
  guint max_participants;

  /* [focus] */
  char **conferences; /* statically served conference URIs */
  char **peers;       /* other foci of these conferences, "sip:ADDR:PORT" (may be NULL) */
} DiscoFocusConfig;

DiscoFocusConfig *disco_focus_config_new_default (void);
void disco_focus_config_free (DiscoFocusConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoFocusConfig, disco_focus_config_free)

/* Loads @path over @config.  Unknown groups and keys are errors, because a
 * misspelt key silently ignored is a production incident waiting to happen. */
gboolean disco_focus_config_load_file (DiscoFocusConfig *config, const char *path, GError **error);

/* Same as load_file but from memory; @origin names the data in messages. */
gboolean disco_focus_config_load_data (DiscoFocusConfig *config, const char *data, gsize len,
                                       const char *origin, GError **error);

/* Applies one option by its [group] and key, as a command-line flag would.
 * @origin ("--sip-listen") is used in error messages. */
gboolean disco_focus_config_set (DiscoFocusConfig *config, const char *group, const char *key,
                                 const char *value, const char *origin, GError **error);

/* Parses "ADDR:PORT" or "[V6ADDR]:PORT" with a numeric address; port 0 means
 * ephemeral.  Host names are refused so nothing ever triggers a DNS lookup. */
GInetSocketAddress *disco_address_parse (const char *text, GError **error);

/* "127.0.0.1:5060" or "[::1]:5060"; caller frees. */
char *disco_address_to_string (GInetSocketAddress *addr);

G_END_DECLS
