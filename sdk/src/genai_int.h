/* Internal GenAI call helpers for the agent-callbacks module: the osprey_llm_* marks at a
 * given time instead of now. */
#ifndef OSPREY_GENAI_INT_H
#define OSPREY_GENAI_INT_H

#include "sdk_int.h"

/* osprey_llm_first_token with the first token at time_ns (epoch ns; 0: now). */
void osprey__llm_first_token_at(osprey_llm_call *c, uint64_t time_ns);
/* osprey_llm_chunk with the chunk at time_ns (epoch ns; 0: now). */
void osprey__llm_chunk_at(osprey_llm_call *c, uint64_t time_ns);
/* The call's span (NULL for a NULL call), to add attributes known only later. */
osprey_span *osprey__llm_span(osprey_llm_call *c);

#endif
