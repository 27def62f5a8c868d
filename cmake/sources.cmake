# The files of the host library and the built-in plugins, for CMakeLists.txt:
# one ca_sources() per Bazel rule, as in its BUILD file.
#
#   ca_sources(<Bazel label>
#     TARGETS <CMake targets the rule's code goes into: cache_alchemy (the host
#              library) and/or a plugin module such as cache_alchemy.backends.memory>
#     SRCS <srcs>  HDRS <hdrs (those of cache_alchemy are installed)>
#     DEPS <external Bazel deps; CMakeLists.txt maps each (ca_resolve_dep)>
#     COPTS <copts>  LINKOPTS <linkopts>  LINKER_SCRIPT <version script>)
#
# Bazel is the primary build. //cmake:sources_test (part of `bazel test //...`)
# fails when this file and the BUILD files disagree, and prints the lines to
# add or remove here.

# The host library (libcache_alchemy): //:cache_alchemy and its deps.

ca_sources(//:cache_alchemy
  TARGETS cache_alchemy
  HDRS
    cache_alchemy/cache_alchemy.h
)

ca_sources(//config:redact
  TARGETS cache_alchemy
  SRCS
    config/redact.cc
  HDRS
    config/redact.h
)

ca_sources(//core:core
  TARGETS cache_alchemy
  SRCS
    core/cache.cc
    core/defaults.cc
    core/dependency.cc
    core/internal/dependency_graph.h
    core/internal/function_cache.cc
    core/internal/refresh_size.h
    core/internal/task_pool.cc
    core/plugin_elf.cc
    core/plugin_location.cc
    core/refresh_pool.cc
    core/registry.cc
  HDRS
    core/bounded_binary_archive.h
    core/cache_policies.h
    core/cached_function.h
    core/defaults.h
    core/dependency.h
    core/errors.h
    core/internal/async_result.h
    core/internal/envelope.h
    core/internal/function_cache.h
    core/internal/latency_histogram.h
    core/internal/signature.h
    core/internal/task_pool.h
    core/key_encoder.h
    core/namespaces.h
    core/options.h
    core/plugin_elf.h
    core/plugin_location.h
    core/refresh_pool.h
    core/registry.h
    core/value_codec.h
  DEPS
    @boost//:dll
    @boost//:filesystem
    @cereal
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_map
    @com_google_absl//absl/functional:function_ref
    @com_google_absl//absl/status
    @com_google_absl//absl/status:statusor
    @com_google_absl//absl/strings
    @com_google_absl//absl/synchronization
  LINKOPTS -ldl
)

ca_sources(//core:log
  TARGETS cache_alchemy
  SRCS
    core/log.cc
  HDRS
    core/log.h
)

ca_sources(//core:striped_counters
  TARGETS
    cache_alchemy
    cache_alchemy.backends.memory
  HDRS
    core/internal/striped_counters.h
)

ca_sources(//core:metrics
  TARGETS cache_alchemy
  SRCS
    core/metrics.cc
    core/metrics_exporter.cc
  HDRS
    core/metrics.h
    core/metrics_exporter.h
  DEPS
    @boost//:headers
    @com_google_absl//absl/strings
)

ca_sources(//core:plugin_sdk
  TARGETS
    cache_alchemy
    cache_alchemy.backends.json
    cache_alchemy.backends.memory
    cache_alchemy.backends.pickle
    cache_alchemy_contrib.backends.memcached
  HDRS
    core/backend.h
    core/clock.h
    core/plugin_export.h
    core/redis_client.h
    core/redis_key_slot.h
    core/strict_key.h
  DEPS
    @boost//:dll
    @boost//:headers
)

ca_sources(//core:version
  TARGETS cache_alchemy
  HDRS
    core/version.h
)

ca_sources(//core/redis:hiredis_client
  TARGETS cache_alchemy
  SRCS
    core/redis/cluster_client.cc
    core/redis/cluster_routing.cc
    core/redis/cluster_url.cc
    core/redis/hiredis_client.cc
    core/redis/hiredis_subscription.cc
    core/redis/sentinel_client.cc
  HDRS
    core/redis/cluster_client.h
    core/redis/cluster_routing.h
    core/redis/cluster_url.h
    core/redis/hiredis_client.h
    core/redis/sentinel_client.h
  DEPS
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_map
    @com_google_absl//absl/strings
    @com_google_absl//absl/synchronization
    @hiredis
)

ca_sources(//config:config
  TARGETS cache_alchemy
  SRCS
    config/base_config.cc
    config/config_value.cc
    config/default_config.cc
    config/duration.cc
    config/internal/typecast.cc
    config/internal/typecast.h
  HDRS
    config/base_config.h
    config/config_value.h
    config/default_config.h
    config/duration.h
  DEPS
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_set
    @com_google_absl//absl/status
    @com_google_absl//absl/status:statusor
    @com_google_absl//absl/strings
    @com_google_absl//absl/strings:str_format
    @com_google_absl//absl/synchronization
    @nlohmann_json//:json
)

# The built-in plugins (the data of //:cache_alchemy) and the contrib Memcached
# plugin, each a module <name>.so installed in the plugin directory.

ca_sources(//backends/json:cache_alchemy.backends.json.so
  TARGETS cache_alchemy.backends.json
  SRCS
    backends/json/plugin.cc
  COPTS -fvisibility=hidden
)

ca_sources(//backends/memory:cache_alchemy.backends.memory.so
  TARGETS cache_alchemy.backends.memory
  SRCS
    backends/memory/plugin.cc
  COPTS -fvisibility=hidden
)

ca_sources(//backends/memory:distributed_memory_cache
  TARGETS cache_alchemy.backends.memory
  SRCS
    backends/memory/distributed_memory_cache.cc
    backends/memory/push_invalidation.cc
  HDRS
    backends/memory/distributed_memory_cache.h
    backends/memory/push_invalidation.h
  DEPS
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_map
    @com_google_absl//absl/synchronization
    @com_google_absl//absl/time
  COPTS -fvisibility=hidden -ftls-model=initial-exec
)

ca_sources(//backends/memory:concurrent_store
  TARGETS cache_alchemy.backends.memory
  SRCS
    backends/memory/concurrent_store.cc
  HDRS
    backends/memory/concurrent_store.h
  DEPS
    @com_google_absl//absl/hash
    @com_google_absl//absl/strings
    @urcu//:bp
  COPTS -fvisibility=hidden -ftls-model=initial-exec
)
ca_sources(//backends/memory:memory_cache
  TARGETS cache_alchemy.backends.memory
  SRCS
    backends/memory/memory_cache.cc
  HDRS
    backends/memory/memory_cache.h
  DEPS
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_map
    @com_google_absl//absl/synchronization
  COPTS -fvisibility=hidden
)

ca_sources(//backends/pickle:cache_alchemy.backends.pickle.so
  TARGETS cache_alchemy.backends.pickle
  SRCS
    backends/pickle/plugin.cc
  COPTS -fvisibility=hidden
)

ca_sources(//backends/redis_common:redis_common
  TARGETS
    cache_alchemy.backends.json
    cache_alchemy.backends.memory
    cache_alchemy.backends.pickle
  SRCS
    backends/redis_common/redis_store.cc
    backends/redis_common/serialized_backend.cc
  HDRS
    backends/redis_common/redis_store.h
    backends/redis_common/serialized_backend.h
  DEPS
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_map
    @com_google_absl//absl/strings
    @com_google_absl//absl/synchronization
  COPTS -fvisibility=hidden
)

ca_sources(//plugins/memcached:cache_alchemy_contrib.backends.memcached.so
  TARGETS cache_alchemy_contrib.backends.memcached
  SRCS
    plugins/memcached/plugin.cc
  COPTS -fvisibility=hidden
  LINKER_SCRIPT plugins/memcached/exports.lds
)

ca_sources(//plugins/memcached:memcached_cache
  TARGETS cache_alchemy_contrib.backends.memcached
  SRCS
    plugins/memcached/memcached_cache.cc
    plugins/memcached/memcached_client.cc
  HDRS
    plugins/memcached/memcached_cache.h
    plugins/memcached/memcached_client.h
    plugins/memcached/stable_hash.h
  DEPS
    @com_google_absl//absl/base:core_headers
    @com_google_absl//absl/container:flat_hash_map
    @com_google_absl//absl/status
    @com_google_absl//absl/status:statusor
    @com_google_absl//absl/strings
    @com_google_absl//absl/synchronization
    @com_google_absl//absl/time
    @libmemcached
  COPTS -fvisibility=hidden
)
