/* The per-thread stack of current span contexts (osprey_attach / osprey_detach). The stack
 * is allocated on a thread's first attach and freed when the thread exits. */
#include "trace_int.h"

#include <string.h>

#include "core/mem.h"

#define STACK_DEPTH 64

typedef struct ctx_stack {
    uint32_t depth;
    osprey_span_context ctx[STACK_DEPTH];
    char trace_state[STACK_DEPTH][OSPREY_TRACESTATE_MAX + 1]; /* owned copies */
} ctx_stack;

static __thread ctx_stack *stack;
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;
static bool stack_key_ok;

static void stack_free(void *p)
{
    osp_free(p);
}

static void stack_key_create(void)
{
    stack_key_ok = pthread_key_create(&stack_key, stack_free) == 0;
}

/* The thread's stack, created on first use; NULL when out of memory. */
static ctx_stack *stack_get(void)
{
    if (stack)
        return stack;
    pthread_once(&stack_once, stack_key_create);
    ctx_stack *s = osp_malloc(sizeof *s);
    if (!s)
        return NULL;
    s->depth = 0;
    if (!stack_key_ok || pthread_setspecific(stack_key, s) != 0) {
        osp_free(s);
        return NULL;
    }
    return stack = s;
}

osprey_scope osprey_attach(const osprey_span_context *c)
{
    ctx_stack *s = stack_get();
    if (!s)
        return (osprey_scope){UINT32_MAX};
    osprey_scope scope = {s->depth};
    if (s->depth >= STACK_DEPTH || !c)
        return (osprey_scope){UINT32_MAX};
    osprey_span_context *top = &s->ctx[s->depth];
    *top = *c;
    top->trace_state = NULL;
    if (c->trace_state && *c->trace_state &&
        osprey__tracestate_copy(s->trace_state[s->depth], c->trace_state))
        top->trace_state = s->trace_state[s->depth];
    s->depth++;
    return scope;
}

void osprey_detach(osprey_scope scope)
{
    if (stack && scope.depth < stack->depth)
        stack->depth = scope.depth;
}

bool osprey_current_context(osprey_span_context *out)
{
    if (stack && stack->depth && osprey_span_context_valid(&stack->ctx[stack->depth - 1])) {
        *out = stack->ctx[stack->depth - 1];
        return true;
    }
    *out = (osprey_span_context){0};
    return false;
}
