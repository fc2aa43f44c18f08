"""slarisk.risk"""
