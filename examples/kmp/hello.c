/*
 * hello.c - An example Kernel Module Package.
 *
 * Copyright (C) 2006
 * Jon Masters <jcm@redhat.com>
 *
 * Based on the KMP example from Novell which is
 * Copyright (C) 2003, 2004, 2005, 2006
 * Andreas Gruenbacher <agruen@suse.de>, SUSE Labs
 *
 * This program is free software; you can redistribute it and/or
 * modify it under the terms of the GNU General Public License as
 * published by the Free Software Foundation.
 *
 */
#include <linux/module.h>
#include <linux/init.h>

int hello_world(void)
{
	printk("Hello, World!\n");
	return 0;
}

int __init hello_init(void)
{
	printk("Loaded module.\n");
	return 0;
}

void __exit hello_exit(void)
{
	printk("Unloaded module.\n");
}

/* Module Metadata */
MODULE_AUTHOR("Jon Masters <jcm@redhat.com>");
MODULE_DESCRIPTION("KMP example");
MODULE_LICENSE("GPL");

module_init(hello_init);
module_exit(hello_exit);

/* Exported Functions */
EXPORT_SYMBOL_GPL(hello_world);
