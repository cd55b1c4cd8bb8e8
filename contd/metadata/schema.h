// The metadata database's tables, as steps per component. steps[i] takes a
// component from version i to i + 1; the version each component has reached
// is kept in the schema_versions table. Later issues add components (images,
// leases, snapshots) or append steps; a released step is never edited.
#pragma once

#include <vector>

#include "common/sqlite_database.h"

namespace gantry::contd::metadata {

using sqlite::SchemaComponent;

const std::vector<SchemaComponent>& SchemaComponents();

}  // namespace gantry::contd::metadata
