// SPDX-License-Identifier: GPL-2.0
/* A module that uses the example module's export: within one package the
 * import is satisfied by the package itself. */
#include <linux/module.h>
#include <linux/init.h>

extern int hello_world(void);

static int __init user_init(void)
{
	return hello_world();
}

static void __exit user_exit(void)
{
}

MODULE_LICENSE("GPL");
module_init(user_init);
module_exit(user_exit);
