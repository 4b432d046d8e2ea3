// SPDX-License-Identifier: GPL-2.0
/* The other module of the package: uses its sibling's export and has one
 * of its own (a use in both directions would be a cycle modprobe refuses). */
#include <linux/module.h>
#include <linux/init.h>

extern int pair_a_call(void);

int pair_b_call(void)
{
	return pair_a_call();
}
EXPORT_SYMBOL_GPL(pair_b_call);

static int __init pair_b_init(void)
{
	printk("pair_b: loaded\n");
	return pair_a_call();
}

static void __exit pair_b_exit(void)
{
}

MODULE_LICENSE("GPL");
module_init(pair_b_init);
module_exit(pair_b_exit);
