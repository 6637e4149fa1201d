// The embedded migration list itself is generated (cmake/embed_migrations.cmake); this file
// only keeps the target non-empty of hand-written code.
#include "berth/store/migrations.hpp"
