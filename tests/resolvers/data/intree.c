// SPDX-License-Identifier: GPL-2.0
/* The test kernels' one in-tree module: what kabi-deps weak-modules reads
 * a kernel's vermagic flags and struct module size from. */
#include <linux/module.h>
#include <linux/init.h>

static int __init intree_init(void)
{
	return 0;
}

static void __exit intree_exit(void)
{
}

MODULE_LICENSE("GPL");
module_init(intree_init);
module_exit(intree_exit);
