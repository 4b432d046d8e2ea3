// SPDX-License-Identifier: GPL-2.0
/* One of two modules of one package: its export is used by its sibling. */
#include <linux/module.h>
#include <linux/init.h>

int pair_a_call(void)
{
	printk("pair_a: called\n");
	return 0;
}
EXPORT_SYMBOL_GPL(pair_a_call);

static int __init pair_a_init(void)
{
	printk("pair_a: loaded\n");
	return 0;
}

static void __exit pair_a_exit(void)
{
}

MODULE_LICENSE("GPL");
module_init(pair_a_init);
module_exit(pair_a_exit);
