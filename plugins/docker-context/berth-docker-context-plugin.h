/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* The docker CLI's context "berth" for the moby engine's forwarded socket,
 * written straight into docker's own files, so that `docker --context berth`
 * works without the docker CLI taking part in setting it up:
 *
 *   <cfg>/contexts/meta/<sha256 of "berth">/meta.json
 *     {"Name":"berth","Metadata":{"Description":"Berth"},
 *      "Endpoints":{"docker":{"Host":"unix://<data>/docker.sock","SkipTLSVerify":false}}}
 *
 * where <cfg> is $DOCKER_CONFIG when set, else ~/.docker, and <data> the
 * paths' data directory. The context exists whatever Berth's state while
 * containerEngine.name is moby (a stopped Berth then gives docker's "cannot
 * connect" rather than "context not found"), and is removed for containerd.
 *
 * The current context ("currentContext" in <cfg>/config.json) changes only
 * when containerEngine.dockerContext.makeCurrent asks: Berth then makes it
 * "berth" and remembers what it was in <data>/docker-context.json; when the
 * setting is turned off, the context goes away or Berth is reset, and the
 * current context is still "berth", the remembered one comes back (no
 * currentContext member when there was none). A current context the user
 * chose is left alone. Every other member of config.json is kept.
 *
 * Integration "docker-context": true when the context exists and points at
 * Berth's socket, false when it does not exist, or a text saying what is
 * wrong with it. Turning it off with set() keeps it off (noted in the state
 * file) until it is turned on again or Berth is reset. Operations run one at
 * a time, in the order they were asked for, each with the settings of the
 * moment it starts. */
#define BERTH_DOCKER_CONTEXT_TYPE_PLUGIN (berth_docker_context_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthDockerContextPlugin, berth_docker_context_plugin, BERTH_DOCKER_CONTEXT,
                      PLUGIN, BerthPlugin)

G_END_DECLS
