/* `osprey demo`: a fleet of small services instrumented with libosprey, plus a load driver. */
#ifndef OSP_DEMO_DEMO_H
#define OSP_DEMO_DEMO_H

/* Runs the demo fleet with the command line of `osprey demo` (argv[0] is "demo") until
 * --duration passes or SIGINT/SIGTERM arrives, then prints a one-line summary on stdout.
 * Returns the process exit status: 0, 1 (the fleet could not start), 2 (bad usage). */
int osp_demo_main(int argc, char **argv);

#endif
