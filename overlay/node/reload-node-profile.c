/* reload-node-profile.c: loading a node's config and identity from its
 * data directory. */
#define G_LOG_DOMAIN "disco-node"

#include <gio/gio.h>

#include "reload-node-profile.h"

gboolean
disco_reload_node_profile_load (const char *data_dir, const char *config_path, const char *user,
                                DiscoReloadConfig **config_out, DiscoReloadIdentity **identity_out,
                                GError **error)
{
  g_autoptr (DiscoReloadConfig) config = NULL;
  g_autofree char *saved
      = data_dir ? g_build_filename (data_dir, DISCO_RELOAD_PROFILE_CONFIG_FILE, NULL) : NULL;

  if (config_path)
    config = disco_reload_config_load_file (config_path, NULL, error);
  else if (saved && g_file_test (saved, G_FILE_TEST_EXISTS))
    config = disco_reload_config_load_file (saved, NULL, error);
  else
    config = disco_reload_config_new_default ();
  if (config == NULL)
    return FALSE;

  g_autoptr (DiscoReloadIdentity) id = NULL;
  g_autofree char *key_file = data_dir ? g_build_filename (data_dir, "reload-key.pem", NULL) : NULL;
  if (key_file && g_file_test (key_file, G_FILE_TEST_EXISTS))
    {
      id = disco_reload_identity_load (data_dir, error);
      if (id == NULL)
        return FALSE;
    }
  else if (config->self_signed_permitted)
    {
      g_autofree char *name
          = user ? g_strdup (user)
                 : g_strdup_printf ("node-%08x@%s", g_random_int (), config->instance_name);
      id = disco_reload_identity_new_self_signed (name, config->instance_name,
                                                  config->self_signed_digest, 1, 0, 0, error);
      if (id == NULL)
        return FALSE;
      if (data_dir && !disco_reload_identity_save (id, data_dir, error))
        return FALSE;
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no identity in %s and overlay %s does not permit self-signed certificates: "
                   "run 'disco enroll' first",
                   data_dir ? data_dir : "(no data dir)", config->instance_name);
      return FALSE;
    }
  *config_out = g_steal_pointer (&config);
  *identity_out = g_steal_pointer (&id);
  return TRUE;
}
