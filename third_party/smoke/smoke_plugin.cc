// A plugin built like the project's backend plugins: -fvisibility=hidden, and
// only a Boost.DLL alias is exported.
#include <boost/dll/alias.hpp>

namespace smoke {

int AddOne(int x) { return x + 1; }

}  // namespace smoke

BOOST_DLL_ALIAS(smoke::AddOne, smoke_add_one)
