// base::FreeList and base::Slab: the fixed pool and its storage of pollux/free_list.hpp,
// under the names the layers use.
#pragma once

#include "pollux/free_list.hpp"

namespace pollux::base {

using pollux::FreeList;
using pollux::FreeListItem;
using pollux::Slab;

}  // namespace pollux::base
