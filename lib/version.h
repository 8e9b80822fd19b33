/* version.h - the one version string of orfeas, used by --version and in
 * every cache request key (a new version never reads an old version's results). */
#ifndef ORFEAS_VERSION_H
#define ORFEAS_VERSION_H
#define ORFEAS_VERSION "0.2.0"
#endif
