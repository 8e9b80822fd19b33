/* Fuzz target: the cache's request-entry reader (cache_entry_parse, the
 * parser cache_get_request uses on the bytes of requests/ab/<key>), then
 * what cache_get_request does with a parsed entry: the key, the created
 * time, the object keys (each must be a valid key, so never a path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *ent = cache_entry_parse(data, size);
    if (!ent)
        return 0;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(ent, "key");
    if (cJSON_IsString(k))
        (void)cache_key_valid(k->valuestring);
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(ent, "created");
    if (!cJSON_IsNumber(created))
        abort();
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(ent, "objects")) {
        if (!cJSON_IsString(o) || !cache_key_valid(o->valuestring) || strchr(o->valuestring, '/'))
            abort(); /* an accepted entry never names a path */
    }
    cJSON *rec = cJSON_DetachItemFromObjectCaseSensitive(ent, "record");
    if (!cJSON_IsObject(rec))
        abort();
    char *canon = cache_canonical_json(rec);
    free(canon);
    cJSON_Delete(rec);
    cJSON_Delete(ent);
    return 0;
}
