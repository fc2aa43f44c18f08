"""slarisk.capacity"""
