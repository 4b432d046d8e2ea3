// SPDX-License-Identifier: GPL-2.0
/* A module packaged without modversions: its spec strips the __versions
 * section, so it says nothing about the CRCs of what it imports. */
#include <linux/module.h>
#include <linux/init.h>

static int __init nover_init(void)
{
	printk("nover: loaded\n");
	return 0;
}

static void __exit nover_exit(void)
{
}

MODULE_LICENSE("GPL");
module_init(nover_init);
module_exit(nover_exit);
