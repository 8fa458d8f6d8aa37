/* Osprey's version, as `osprey version` prints it and the APIs report it. */
#ifndef OSP_CORE_VERSION_H
#define OSP_CORE_VERSION_H

#define OSP_VERSION "0.1.0"

#endif
