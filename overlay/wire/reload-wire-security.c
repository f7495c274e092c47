/* reload-wire-security.c: SecurityBlock, Signature, SignerIdentity
 * (RFC 6940 §6.3.4). */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

gboolean
disco_wire_read_signer_identity (DiscoWireReader *r, DiscoReloadSignerIdentity *id, GError **error)
{
  guint8 type;
  DiscoWireReader v;

  if (!disco_wire_read_u8 (r, &type, "SignerIdentity type", error)
      || !disco_wire_read_sub (r, 2, &v, "SignerIdentity", error))
    return FALSE;
  id->type = type;
  switch (type)
    {
      case DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH:
      case DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID:
        if (!disco_wire_read_u8 (&v, &id->hash_alg, "SignerIdentity hash_alg", error)
            || !disco_wire_read_opaque (&v, 1, &id->hash, "SignerIdentity hash", error))
          return FALSE;
        break;
      case DISCO_RELOAD_SIGNER_IDENTITY_NONE:
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown SignerIdentity type %u", type);
    }
  return disco_wire_reader_done (&v, "SignerIdentity", error);
}

gboolean
disco_reload_signer_identity_encode (const DiscoReloadSignerIdentity *id, GByteArray *out,
                                     GError **error)
{
  gsize start = out->len, pos;

  disco_wire_put_u8 (out, (guint8)id->type);
  pos = disco_wire_begin_len (out, 2);
  switch (id->type)
    {
      case DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH:
      case DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID:
        disco_wire_put_u8 (out, id->hash_alg);
        if (!disco_wire_put_opaque_bytes (out, 1, id->hash, "SignerIdentity hash", error))
          goto fail;
        break;
      case DISCO_RELOAD_SIGNER_IDENTITY_NONE:
        break;
      default:
        disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "invalid SignerIdentity type %d",
                         id->type);
        goto fail;
    }
  if (disco_wire_end_len (out, pos, 2, "SignerIdentity", error))
    return TRUE;
fail:
  g_byte_array_set_size (out, (guint)start);
  return FALSE;
}

gboolean
disco_wire_read_signature (DiscoWireReader *r, DiscoReloadSignature *sig, GError **error)
{
  return disco_wire_read_u8 (r, &sig->hash_alg, "signature hash algorithm", error)
         && disco_wire_read_u8 (r, &sig->sig_alg, "signature algorithm", error)
         && disco_wire_read_signer_identity (r, &sig->identity, error)
         && disco_wire_read_opaque (r, 2, &sig->value, "signature_value", error);
}

gboolean
disco_reload_signature_encode (const DiscoReloadSignature *sig, GByteArray *out, GError **error)
{
  gsize start = out->len;

  disco_wire_put_u8 (out, sig->hash_alg);
  disco_wire_put_u8 (out, sig->sig_alg);
  if (disco_reload_signer_identity_encode (&sig->identity, out, error)
      && disco_wire_put_opaque_bytes (out, 2, sig->value, "signature_value", error))
    return TRUE;
  g_byte_array_set_size (out, (guint)start);
  return FALSE;
}

gboolean
disco_wire_read_security_block (DiscoWireReader *r, DiscoReloadSecurityBlock *sb, GError **error)
{
  DiscoWireReader certs;

  if (!disco_wire_read_sub (r, 2, &certs, "certificates", error))
    return FALSE;
  while (disco_wire_reader_left (&certs) > 0)
    {
      guint8 type;
      GBytes *der = NULL;

      if (!disco_wire_read_u8 (&certs, &type, "certificate type", error)
          || !disco_wire_read_opaque (&certs, 2, &der, "certificate", error))
        return FALSE;
      g_ptr_array_add (sb->certificates, disco_reload_generic_certificate_new (type, der));
      g_bytes_unref (der);
    }
  return disco_wire_read_signature (r, &sb->signature, error);
}

gboolean
disco_wire_put_security_block (GByteArray *out, const DiscoReloadSecurityBlock *sb, GError **error)
{
  gsize pos = disco_wire_begin_len (out, 2);

  for (guint i = 0; sb->certificates != NULL && i < sb->certificates->len; i++)
    {
      const DiscoReloadGenericCertificate *c = g_ptr_array_index (sb->certificates, i);

      disco_wire_put_u8 (out, c->type);
      if (!disco_wire_put_opaque_bytes (out, 2, c->certificate, "certificate", error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 2, "certificates", error)
         && disco_reload_signature_encode (&sb->signature, out, error);
}
