/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one header a plugin or frontend includes. */
#include "berth-version.h"
#include "berth-error.h"
#include "berth-enums.h"
#include "berth-paths.h"
#include "berth-progress.h"
#include "berth-subprocess.h"
#include "berth-download.h"
#include "berth-file.h"
#include "berth-json.h"
#include "berth-settings.h"
#include "berth-settings-import.h"
#include "berth-plugin.h"
#include "berth-plugin-loader.h"
#include "berth-backend.h"
#include "berth-kubernetes-provider.h"
#include "berth-image-processor.h"
#include "berth-image-list.h"
#include "berth-integration.h"
#include "berth-updater.h"
#include "berth-manager.h"
