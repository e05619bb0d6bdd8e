#include "plugins/storage/sqlite/sqlite_schema.h"

namespace limify::sqlite {
namespace {

constexpr Migration kMigrations[] = {
#include "sqlite_migrations.inc"
};

}  // namespace

absl::Span<const Migration> Migrations() { return kMigrations; }

}  // namespace limify::sqlite
